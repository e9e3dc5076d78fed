"""Schema management: alembic driven from code, so `haven migrate` works from any directory."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from models.db import make_engine
from services.availability import unavailable_cause


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(str(resources.files("migrations")))))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, command.downgrade, revision)


def _run(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    """Run alembic in one transaction on one connection.

    On SQLite, foreign keys are not enforced while it runs: SQLite adds a constraint by
    rebuilding the table (create a copy, drop the old one, rename), and with enforcement on,
    dropping the old table would first delete every row that references it (ON DELETE
    CASCADE). The setting only takes effect outside a transaction, so it is switched on the
    driver's connection before the transaction begins; before committing, every reference is
    checked (`PRAGMA foreign_key_check`), so a migration cannot leave a dangling one."""
    config = alembic_config(engine)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _foreign_keys(connection, enforced=False)
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # A migration may rewrite a large table: the request-sized statement limit
                    # and idle limit of a running server do not apply. Lock waits stay bounded,
                    # so a migration behind a long transaction fails clearly instead of
                    # queueing everyone.
                    connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
                    connection.exec_driver_sql("SET LOCAL idle_in_transaction_session_timeout = 0")
                config.attributes["connection"] = connection
                step(config, revision)
                if sqlite:
                    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if dangling:
                        raise RuntimeError(f"migration left dangling references: {dangling[:5]}")
        finally:
            if sqlite:
                _foreign_keys(connection, enforced=True)


def _foreign_keys(connection: Connection, *, enforced: bool) -> None:
    driver = connection.connection.driver_connection
    if driver is None:  # pragma: no cover - a pooled connection always has one
        raise RuntimeError("no database connection")
    driver.execute(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")


def is_migrated(engine: Engine) -> bool:
    return "alembic_version" in inspect(engine).get_table_names()


def connection_problem(raw_url: str) -> str | None:
    """Why Haven cannot connect to the PostgreSQL database at `raw_url`, naming the cause (down,
    connection limit reached, ...), or None. A refused connection says nothing about the schema,
    so it must not be reported as a missing one (`schema_problem` handles SQLite files)."""
    url = make_url(raw_url)
    if url.drivername.startswith("sqlite"):
        return None
    shown = url.render_as_string(hide_password=True)
    engine = make_engine(raw_url)
    try:
        with engine.connect():
            pass
    except DBAPIError as error:
        cause = unavailable_cause(error)
        first_line = str(getattr(error, "orig", error)).strip().splitlines()[:1]
        said = f" The server said: {first_line[0]}" if first_line else ""
        why = cause.detail if cause is not None else "the connection failed."
        return f"Cannot connect to the database at {shown}: {why}{said}"
    finally:
        engine.dispose()
    return None


def schema_problem(raw_url: str) -> str | None:
    """Why the database at `raw_url` cannot be used as a Haven database yet, or None.

    Creates nothing: a SQLite file that does not exist is reported, not created.
    """
    url = make_url(raw_url)
    shown = url.render_as_string(hide_password=True)
    if url.drivername.startswith("sqlite"):
        if not url.database or url.database == ":memory:":
            return f"No database file in {shown}."
        if not Path(url.database).expanduser().exists():
            return f"No Haven database at {shown} (the file does not exist)."
    engine = make_engine(raw_url)
    try:
        migrated = is_migrated(engine)
    except OperationalError:
        return f"Cannot connect to the database at {shown}."
    finally:
        engine.dispose()
    return None if migrated else f"The database at {shown} has no Haven schema."
