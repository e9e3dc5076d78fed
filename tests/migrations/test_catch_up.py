"""Revision 0007 brings a database migrated with the earlier text of 0002 and 0005 level with a
fresh one, and changes nothing on a fresh one.

The earlier text is reproduced by undoing, right after migrating to 0006, what was later edited
into those two revisions: the owner index became (owner_id, created_at, id), and 0002 gained the
insert-only triggers and, on PostgreSQL, `haven_audit_append`.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

from models.db import make_engine
from services.database import migrate
from tests.databases import empty_database, is_postgres
from tests.migrations.test_migrations import _schema_drift

PG_TRIGGERS = {"audit_events_insert_only", "audit_events_no_truncate"}
SQLITE_TRIGGERS = {"audit_events_no_update", "audit_events_no_delete"}


def _triggers(connection: Connection) -> list[str]:
    if is_postgres():
        query = (
            "SELECT tgname FROM pg_trigger "
            "WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal"
        )
    else:
        query = (
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'"
        )
    return sorted(connection.execute(text(query)).scalars())


def _has_append_function(connection: Connection) -> bool:
    found = connection.execute(
        text("SELECT count(*) FROM pg_proc WHERE proname = 'haven_audit_append'")
    ).scalar_one()
    return bool(found)


def _as_shipped_first(connection: Connection) -> None:
    """Undo what was edited into 0002 and 0005 after they shipped."""
    connection.execute(text("DROP INDEX ix_cases_owner_id_created_at"))
    connection.execute(text("CREATE INDEX ix_cases_owner_id ON cases (owner_id)"))
    for name in PG_TRIGGERS if is_postgres() else SQLITE_TRIGGERS:
        connection.execute(
            text(
                f"DROP TRIGGER {name} ON audit_events" if is_postgres() else f"DROP TRIGGER {name}"
            )
        )
    if is_postgres():
        connection.execute(text("DROP FUNCTION haven_audit_append(bigint, jsonb)"))
        connection.execute(text("DROP FUNCTION haven_audit_events_insert_only()"))


def _expected_triggers() -> list[str]:
    return sorted(PG_TRIGGERS if is_postgres() else SQLITE_TRIGGERS)


def test_a_database_migrated_with_the_shipped_text_catches_up() -> None:
    with empty_database() as url:
        engine = make_engine(url)
        try:
            migrate(engine, "0006")
            with engine.begin() as connection:
                _as_shipped_first(connection)
                assert _triggers(connection) == []
            indexes = {index["name"] for index in inspect(engine).get_indexes("cases")}
            assert "ix_cases_owner_id_created_at" not in indexes
            migrate(engine)
            with engine.connect() as connection:
                assert _triggers(connection) == _expected_triggers()
                if is_postgres():
                    assert _has_append_function(connection)
            indexes = {index["name"] for index in inspect(engine).get_indexes("cases")}
            assert "ix_cases_owner_id_created_at" in indexes
            assert "ix_cases_owner_id" not in indexes
        finally:
            engine.dispose()
        assert _schema_drift(url) == []


def test_on_a_fresh_database_it_changes_nothing() -> None:
    with empty_database() as url:
        engine = make_engine(url)
        try:
            migrate(engine, "0006")
            with engine.connect() as connection:
                before = _triggers(connection)
            before_indexes = inspect(engine).get_indexes("cases")
            # Compared right after 0007: later revisions change the cases table on purpose (0013
            # makes case numbers unique per agency, which PostgreSQL reports as an index).
            migrate(engine, "0007")
            with engine.connect() as connection:
                assert _triggers(connection) == before == _expected_triggers()
            assert inspect(engine).get_indexes("cases") == before_indexes
            migrate(engine)
        finally:
            engine.dispose()
        assert _schema_drift(url) == []
