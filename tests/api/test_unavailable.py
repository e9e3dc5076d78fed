"""Infrastructure faults answer 503 with Retry-After, logged once naming the cause; bugs answer
500 with `Connection: close`, logged once.

Database down, connection limit, full disk and keyring faults are produced for real (a closed
port, a role with no connection allowance, SQLite's page limit, a removed key file); the
classifier is also checked on each driver error it knows.
"""

from __future__ import annotations

import errno
import http.client
import logging
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, exc, text
from sqlalchemy.engine import make_url

from api.app import create_app
from api.routing import TransactionalRoute
from models.db import make_engine, make_session_factory
from services import availability
from services.crypto import KeyringError, KeyringUnavailable, load_keyring
from services.policy import Role
from services.runtime import Runtime
from tests.api.test_cases_helpers import body
from tests.conftest import make_settings, new_runtime
from tests.databases import is_postgres, migrated_database
from tests.factories import API, TEST_PASSWORD, make_agency, make_user, user_headers
from tests.live import free_port, live_server

UNAVAILABLE = "/problems/unavailable"


def _unavailable_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "service temporarily unavailable"]


def assert_503(response: Any, cause: str, caplog: pytest.LogCaptureFixture) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1
    problem = response.json()
    assert (problem["type"], problem["status"], problem["cause"]) == (UNAVAILABLE, 503, cause)
    assert problem["title"] == "Service temporarily unavailable"
    # Logged once, naming the cause, as a warning without a traceback; nothing at ERROR.
    records = _unavailable_records(caplog)
    assert [getattr(r, "cause", None) for r in records] == [cause]
    assert records[0].levelno == logging.WARNING and records[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def app_for(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> FastAPI:
    app = create_app(runtime=runtime)
    logging.getLogger().addHandler(caplog.handler)  # the factory replaced the root handlers
    return app


def runtime_on(url: str, folder: Path, keyring_template: bytes) -> Runtime:
    """A runtime whose database is at `url`, built without touching it."""
    settings = make_settings(url, folder)
    settings.key_file.write_bytes(keyring_template)
    settings.key_file.chmod(0o600)
    engine = make_engine(url)
    return Runtime(settings, engine, make_session_factory(engine), load_keyring(settings))


# --- the faults, produced for real -----------------------------------------------------------


def test_a_database_that_is_down_answers_503(
    tmp_var: Path, keyring_template: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"postgresql+psycopg://haven@127.0.0.1:{free_port()}/haven"  # nothing listens
    runtime = runtime_on(url, tmp_var, keyring_template)
    with TestClient(app_for(runtime, caplog), raise_server_exceptions=False) as client:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = client.post(
                f"{API}/auth/login", json={"username": "amal", "password": TEST_PASSWORD}
            )
    assert_503(response, "database_unreachable", caplog)
    runtime.engine.dispose()


@pytest.mark.postgres_only
def test_a_full_connection_table_answers_503_naming_the_limit(
    database_url: str, tmp_var: Path, keyring_template: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    role = f"haven_full_{uuid.uuid4().hex[:8]}"
    admin = make_engine(database_url)
    with admin.begin() as connection:  # a role allowed no connection: the server refuses it
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0'))
    try:
        url = make_url(database_url).set(username=role).render_as_string(hide_password=False)
        runtime = runtime_on(url, tmp_var, keyring_template)
        with TestClient(app_for(runtime, caplog), raise_server_exceptions=False) as client:
            caplog.clear()
            with caplog.at_level(logging.INFO):
                response = client.post(
                    f"{API}/auth/login", json={"username": "amal", "password": TEST_PASSWORD}
                )
        assert_503(response, "database_connection_limit", caplog)
        runtime.engine.dispose()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


@pytest.fixture
def fresh(tmp_var: Path) -> Iterator[Runtime]:
    with migrated_database() as url:
        runtime = new_runtime(make_settings(url, tmp_var))
        yield runtime
        runtime.engine.dispose()


@pytest.mark.skipif(
    is_postgres(),
    reason="fills SQLite's page limit; PostgreSQL's 53100 is covered by the classifier test below",
)
def test_a_full_disk_answers_503(fresh: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    with fresh.session_factory() as session, session.begin():
        user = make_user(session, make_agency(session), Role.CASEWORKER)
        headers = user_headers(session, user, fresh.settings)
    fresh.engine.dispose()

    @event.listens_for(fresh.engine, "connect")
    def _no_room(dbapi_connection: Any, _record: Any) -> None:
        # The file may not grow by a single page: exactly what SQLite reports on a full disk.
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    with TestClient(app_for(fresh, caplog), raise_server_exceptions=False) as client:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            for _ in range(50):  # until the free room in the existing pages is used up
                response = client.post(f"{API}/cases", json=body(), headers=headers)
                if response.status_code != 201:
                    break
    assert_503(response, "disk_full", caplog)


def test_a_removed_keyring_answers_503(fresh: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    with fresh.session_factory() as session, session.begin():
        user = make_user(session, make_agency(session), Role.CASEWORKER)
        headers = user_headers(session, user, fresh.settings)
    with TestClient(app_for(fresh, caplog), raise_server_exceptions=False) as client:
        assert client.post(f"{API}/cases", json=body(), headers=headers).status_code == 201
        fresh.settings.key_file.rename(fresh.settings.key_file.with_suffix(".moved"))
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = client.post(f"{API}/cases", json=body(), headers=headers)
        assert_503(response, "keyring_unavailable", caplog)
        fresh.settings.key_file.with_suffix(".moved").rename(fresh.settings.key_file)
        assert client.post(f"{API}/cases", json=body(), headers=headers).status_code == 201


# --- bugs: 500, logged once, connection closed -------------------------------------------------


def _crashing_app(app: FastAPI) -> FastAPI:
    router = APIRouter(route_class=TransactionalRoute)

    @router.get("/probe/crash")
    def crash() -> dict[str, str]:
        raise RuntimeError("a bug")

    @router.get("/probe/fine")
    def fine() -> dict[str, str]:
        return {"ok": "yes"}

    app.include_router(router)
    return app


@pytest.fixture
def crashing_server(app: FastAPI) -> Iterator[int]:
    with live_server(_crashing_app(app)) as port:
        yield port


def test_a_500_closes_the_connection_and_is_logged_once(
    crashing_server: int, caplog: pytest.LogCaptureFixture
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", crashing_server, timeout=10)
    with caplog.at_level(logging.INFO):
        connection.request("GET", "/probe/fine")
        first = connection.getresponse()
        first.read()
        assert (first.status, first.getheader("connection")) == (200, None)  # kept alive
        connection.request("GET", "/probe/crash")
        crashed = connection.getresponse()
        crashed.read()
        time.sleep(0.2)  # let the server finish logging
    assert crashed.status == 500
    assert crashed.getheader("connection") == "close"
    assert crashed.will_close
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info is not None
    connection.close()


# --- the classifier ------------------------------------------------------------------------


def _wrapped(orig: BaseException) -> exc.DBAPIError:
    return exc.OperationalError("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (psycopg.errors.lookup("53300")("too many clients"), "database_connection_limit"),
        (psycopg.errors.lookup("53100")("no space"), "disk_full"),
        (psycopg.errors.lookup("55P03")("lock timeout"), "database_lock_timeout"),
        (psycopg.errors.lookup("57014")("statement timeout"), "database_statement_timeout"),
        (psycopg.errors.lookup("25P03")("idle"), "database_idle_transaction_timeout"),
        (psycopg.errors.lookup("57P01")("admin shutdown"), "database_unreachable"),
        (psycopg.errors.lookup("40P01")("deadlock"), "database_conflict"),
        (
            psycopg.OperationalError(
                'connection failed: connection to server at "10.0.0.5", port 5432 failed: '
                "FATAL:  sorry, too many clients already"
            ),
            "database_connection_limit",
        ),
        (
            psycopg.OperationalError("connection failed: Connection refused"),
            "database_unreachable",
        ),
        (psycopg.OperationalError("consuming input failed: EOF"), "database_unreachable"),
        (sqlite3.OperationalError("database or disk is full"), "disk_full"),
        (sqlite3.OperationalError("database is locked"), "database_lock_timeout"),
        (sqlite3.OperationalError("disk I/O error"), "storage_error"),
        (OSError(errno.ENOSPC, "No space left on device"), "disk_full"),
        (KeyringUnavailable("key file has disappeared"), "keyring_unavailable"),
        (
            exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"),
            "connection_pool_exhausted",
        ),
    ],
)
def test_infrastructure_faults_are_recognised_bare_and_wrapped(
    error: BaseException, cause: str
) -> None:
    found = availability.unavailable_cause(error)
    assert found is not None and found.name == cause
    if not isinstance(error, exc.SQLAlchemyError | OSError | KeyringError):
        wrapped = availability.unavailable_cause(_wrapped(error))
        assert wrapped is not None and wrapped.name == cause


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("a bug"),
        KeyError("x"),
        KeyringError("data key has been destroyed"),  # gone for good: retrying cannot help
        sqlite3.OperationalError("no such table: cases"),
        psycopg.errors.lookup("42P01")("undefined table"),
        psycopg.errors.lookup("23505")("unique violation"),
        OSError(errno.EACCES, "Permission denied"),
    ],
)
def test_bugs_and_permanent_errors_are_not_called_unavailable(error: BaseException) -> None:
    assert availability.unavailable_cause(error) is None
    assert availability.unavailable_cause(_wrapped(error)) is None
