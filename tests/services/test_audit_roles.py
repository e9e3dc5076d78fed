"""PostgreSQL: the application's role may only INSERT and SELECT audit rows; only a DBA can
tamper (and verify then catches it).

Sets up the production roles of docs/audit.md ("Database roles") on a fresh database: an owner that
ran the migrations, and an application role with INSERT and SELECT on `audit_events`.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DatabaseError

from models.db import make_engine, make_session_factory
from services import audit
from services.actions import Action
from services.audit.verify import verify_log
from services.crypto import init_keyring
from tests.conftest import make_settings
from tests.databases import migrated_database, pg_server_url

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def databases() -> Iterator[tuple[Engine, Engine]]:
    """(as the owner/DBA, as the application role) on one fresh migrated database."""
    role = f"haven_app_{secrets.token_hex(4)}"
    server = make_url(pg_server_url()).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    try:
        with migrated_database() as url:
            owner = make_engine(url)
            with owner.begin() as conn:
                database = make_url(url).database
                conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"'))
                conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
                conn.execute(text(f'GRANT SELECT, INSERT ON audit_events TO "{role}"'))
            app = make_engine(make_url(url).set(username=role).render_as_string(False))
            yield owner, app
            app.dispose()
            owner.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def _append(engine: Engine, count: int) -> None:
    audit.install_chain_hook()
    with make_session_factory(engine)() as session, session.begin():
        for _ in range(count):
            audit.record(
                session,
                None,
                Action.AUTH_LOGIN_FAILED,
                resource_type="user",
                resource_id=uuid.uuid4(),
            )


TAMPERING = [
    "UPDATE audit_events SET action = 'case.list' WHERE seq = 2",
    "DELETE FROM audit_events WHERE seq = 2",
    "TRUNCATE audit_events",
    "ALTER TABLE audit_events DISABLE TRIGGER USER",
    "SET session_replication_role = replica",
    "DROP TRIGGER audit_events_insert_only ON audit_events",
]


def test_the_application_role_appends_but_cannot_tamper(databases: tuple[Engine, Engine]) -> None:
    _owner, app = databases
    _append(app, 3)  # the chain works with INSERT and SELECT only
    for statement in TAMPERING:
        _refused(app, statement)


def _refused(app: Engine, statement: str) -> None:
    with (
        app.connect() as conn,
        pytest.raises(DatabaseError, match=r"permission denied|must be owner"),
    ):
        conn.execute(text(statement))
    with app.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 3


def test_even_a_role_granted_update_and_delete_is_stopped_by_the_trigger(
    databases: tuple[Engine, Engine],
) -> None:
    owner, app = databases
    _append(app, 3)
    with owner.begin() as conn:
        role = app.url.username
        conn.execute(text(f'GRANT UPDATE, DELETE, TRUNCATE ON audit_events TO "{role}"'))
    for statement in (
        "UPDATE audit_events SET action = 'case.list' WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 2",
        "TRUNCATE audit_events",
    ):
        with app.connect() as conn, pytest.raises(DatabaseError, match="append-only"):
            conn.execute(text(statement))


def test_a_dba_who_switches_the_triggers_off_can_tamper_and_verify_catches_it(
    databases: tuple[Engine, Engine], tmp_path: Path
) -> None:
    owner, app = databases
    _append(app, 5)
    with owner.begin() as conn:
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE audit_events SET outcome = 'error' WHERE seq = 4"))
        conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    settings = make_settings(owner.url.render_as_string(False), tmp_path)
    with owner.connect() as conn:
        report = verify_log(conn, settings, init_keyring(settings))
    assert (report.valid, report.first_invalid_seq) == (False, 4)
