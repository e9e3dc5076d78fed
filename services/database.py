"""Schema management: alembic driven from code, so `haven migrate` works from any directory."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from models.db import make_engine
from services.availability import unavailable_cause


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(str(resources.files("migrations")))))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # A migration may rewrite a large table: the request-sized statement limit and
            # idle limit of a running server do not apply. Lock waits stay bounded, so a
            # migration behind a long transaction fails clearly instead of queueing everyone.
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            connection.exec_driver_sql("SET LOCAL idle_in_transaction_session_timeout = 0")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


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
