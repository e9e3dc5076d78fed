"""Shared fixtures.

Isolation: the session-wide database is migrated once; each test runs inside an outer transaction
on one connection that is rolled back at the end (the app's commits become savepoints), so tests
never see each other's rows. Tests that need real commits (concurrency, several processes,
refusals surviving a rollback end to end) use `fresh_runtime`, a freshly migrated database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models.db import make_engine
from services.audit import install_chain_hook
from services.config import Settings
from services.crypto import init_keyring, load_keyring
from services.crypto.setup import keyring_exists
from services.runtime import Runtime, build_runtime
from tests.databases import BACKEND, is_postgres, migrated_database
from tests.keyrings import KEYRING, for_test_keyring, make_keyring, remove_token_keyring


def pytest_report_header() -> str:
    return f"haven test backend: {BACKEND}, keyring: {KEYRING}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if is_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (runs in the PostgreSQL pass of `make test`)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with migrated_database() as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    install_chain_hook()
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def tmp_var(tmp_path: Path) -> Path:
    folder = tmp_path / "var"
    folder.mkdir()
    return folder


# The bounds on waits (docs/resilience.md) have tests of their own; elsewhere a starved test
# machine (a shared CI runner, parallel suites) must not turn slowness into 503s.
PATIENT_WAITS: dict[str, object] = {
    "request_timeout_seconds": 600,
    "request_queue_timeout_seconds": 300,
    "db_lock_timeout_seconds": 120,
    "db_statement_timeout_seconds": 300,
    "db_idle_in_transaction_timeout_seconds": 300,
    "db_pool_timeout_seconds": 120,
    "sqlite_busy_timeout_seconds": 120,
    # Tests that walk every route without a token from one address would otherwise meet the
    # anonymous throttle; it has tests of its own (tests/api/test_anonymous_flood.py).
    "anonymous_max_refusals": 1_000_000,
    # Tests count checkpoints by the steady-state rule (every N events, every M seconds); the
    # young chain's checkpoint per commit has a test of its own (tests/services/
    # test_audit_checkpoints.py).
    "audit_checkpoint_first_events": 0,
}


def make_settings(database_url: str, folder: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "key_file": folder / "keyring.json",
        "audit_checkpoint_file": folder / "audit-checkpoints.jsonl",
        **PATIENT_WAITS,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str, tmp_var: Path) -> Iterator[Settings]:
    """The test's settings, naming the keyring this run tests (`tests.keyrings`)."""
    settings = for_test_keyring(make_settings(database_url, tmp_var))
    yield settings
    remove_token_keyring(settings)


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging data and calling services; everything is rolled back."""
    with session_factory() as session:
        yield session


@pytest.fixture(scope="session")
def keyring_template(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One keyring generated per session (creating one fsyncs twice: ~10 ms)."""
    path = tmp_path_factory.mktemp("keyring") / "keyring.json"
    init_keyring(Settings(key_file=path))
    return path.read_bytes()


@pytest.fixture
def runtime(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    keyring_template: bytes,
) -> Runtime:
    # Each test gets its own keyring (a copy of the session's key file, mode 0600, or its own
    # objects in the token), so what a test does to it (new KEK versions, retirement) stays in
    # that test.
    if settings.keyring == "pkcs11":
        make_keyring(settings)
    elif not settings.key_file.exists():
        settings.key_file.write_bytes(keyring_template)
        settings.key_file.chmod(0o600)
    return Runtime(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        keyring=load_keyring(settings),
    )


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime=runtime)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """The app over HTTP. A server bug raises in the test with its traceback, instead of
    surfacing as "500 != 200"; a test that means to see the 500 uses `client_answering_500`."""
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client


@pytest.fixture
def client_answering_500(app: FastAPI) -> Iterator[TestClient]:
    """Like `client`, but an unhandled error is answered as the server answers it (a 500
    problem+json), for tests of that answer."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def new_runtime(settings: Settings) -> Runtime:
    """A runtime on a database with a keyring of its own, created first (as `haven migrate`
    would: a runtime never creates one)."""
    if not keyring_exists(settings):
        make_keyring(settings)
    return build_runtime(settings)


@pytest.fixture
def fresh_runtime(tmp_var: Path) -> Iterator[Runtime]:
    """A freshly migrated database of its own, with real commits."""
    with migrated_database() as url:
        runtime = new_runtime(for_test_keyring(make_settings(url, tmp_var)))
        yield runtime
        runtime.engine.dispose()
        remove_token_keyring(runtime.settings)
