"""The database around the request's session: transactions of their own, and schema management
(alembic driven from code, so `haven migrate` works from any directory).

Use cases write in the request's session and only flush; `api/routing.py` commits it. A few
things must be kept whatever becomes of the request (a login attempt counted before its
password check, a refusal): those are written with the helpers here, never by calling
`rollback()` or `commit()` on the request's session from a use case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from models.db import READ_ONLY_OPTION, make_engine
from services.availability import unavailable_cause

# --- transactions of their own ------------------------------------------------------------


@contextmanager
def own_transaction(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """Record something in a transaction of its own, committed when the block ends (rolled back
    if it raises), whatever becomes of the request: an attempt recorded before its slow check,
    a refusal the request's rollback must not erase.

    On SQLite every transaction holds the database's write lock, so the request's own
    transaction must not be open meanwhile: call `end_request_reads` or `abandon_request`
    first, or the two wait on each other until the busy timeout."""
    with session_factory() as session, session.begin():
        yield session


def end_request_reads(session: Session) -> None:
    """End the request's transaction before slow work (an Argon2 check), having only read.

    No transaction, and on SQLite no write lock, is held during the work; ORM objects stay
    attached and are read again, in a new transaction, on next use. Refuses (a bug) when the
    session holds changes not yet flushed, which this would silently drop."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("end_request_reads would discard changes; call it before writing")
    session.rollback()


def abandon_request(session: Session) -> None:
    """The request is about to fail: drop its transaction now, so what must outlast it can be
    written in a transaction of its own (`own_transaction`) without waiting for its lock.

    Its ORM objects are detached: read what you need from them BEFORE calling this, so a late
    attribute access fails loudly instead of silently starting a new transaction (and taking
    the lock again)."""
    session.rollback()
    session.expunge_all()


# --- schema management -----------------------------------------------------------------------


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


def head_revision(engine: Engine) -> str | None:
    """The newest revision this version of Haven ships."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: no Haven schema)."""
    with engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_problem(raw_url: str) -> str | None:
    """Why the database at `raw_url` cannot be used by this version of Haven, or None.

    One line that names the fix. Creates nothing: a SQLite file that does not exist is
    reported, not created. Used by every command but `migrate`, and by `haven serve`'s
    pre-flight, so a server never starts on a database it would answer 500 from.
    """
    url = make_url(raw_url)
    shown = url.render_as_string(hide_password=True)
    if url.drivername.startswith("sqlite"):
        if not url.database or url.database == ":memory:":
            return f"No database file in {shown}: set HAVEN_DATABASE_URL."
        if not Path(url.database).expanduser().exists():
            return (
                f"No Haven database at {shown} (the file does not exist): set "
                "HAVEN_DATABASE_URL, or run `haven migrate` to create it."
            )
    engine = make_engine(raw_url)
    try:
        current = current_revision(engine)
        head = head_revision(engine)
    except (OperationalError, InterfaceError) as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0:1]
        why = f" ({reason[0]})" if reason else ""
        return (
            f"Cannot connect to the database at {shown}{why}: is it running, and is "
            "HAVEN_DATABASE_URL right?"
        )
    finally:
        engine.dispose()
    if current is None:
        return f"The database at {shown} has no Haven schema: run `haven migrate`."
    if current != head:
        script = ScriptDirectory.from_config(alembic_config(engine))
        if current not in {revision.revision for revision in script.walk_revisions()}:
            return (
                f"The database at {shown} is at revision {current}, which this version of "
                f"Haven does not know (it expects {head}): run the Haven that migrated it."
            )
        return (
            f"The database at {shown} is at revision {current}, this version of Haven needs "
            f"{head}: run `haven migrate`."
        )
    return None
