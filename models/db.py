"""Engine and session factory for SQLite (embedded) and PostgreSQL (production).

Sync access everywhere: see docs/development.md ("Design choices worth knowing").
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("haven.db")

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""SQLite's wait for the write lock when no `DatabaseLimits` are given (tools, tests)."""
READ_ONLY_OPTION = "haven_read_only"
"""Execution option: this connection only reads, so on SQLite it need not take the write lock."""


@dataclass(frozen=True)
class DatabaseLimits:
    """Upper bounds on every wait that involves the database, so one stuck process, a stalled
    database or a partitioned host cannot hold anyone else up for longer (the settings and
    their reasons are in docs/resilience.md). 0 turns a server-side limit off."""

    connect_timeout_seconds: int = 5
    """libpq `connect_timeout`: the whole connection set-up, including the server's answer."""
    statement_timeout_ms: int = 15_000
    """PostgreSQL `statement_timeout`: one statement may run this long."""
    lock_timeout_ms: int = 5_000
    """PostgreSQL `lock_timeout`: waiting for a row, table or advisory lock (the audit chain's)."""
    idle_in_transaction_timeout_ms: int = 10_000
    """PostgreSQL `idle_in_transaction_session_timeout`: a session that holds a transaction
    open without sending anything (a paused or hung process) is ended, releasing its locks."""
    tcp_keepalive_seconds: int = 10
    """TCP keepalives after this much silence, every this many seconds, 3 probes; a request
    that is not acknowledged within 4x this long also ends the connection (`tcp_user_timeout`).
    A host that vanished (power, network) is noticed in under a minute, not the OS's hours."""
    pool_timeout_seconds: float = 5.0
    """Waiting for a free connection in this process's pool."""
    sqlite_busy_timeout_ms: int = 10_000
    """SQLite's wait for the database's write lock (held by one transaction at a time)."""

    def postgresql_connect_args(self) -> dict[str, Any]:
        options = " ".join(
            f"-c {name}={value}"
            for name, value in (
                ("statement_timeout", self.statement_timeout_ms),
                ("lock_timeout", self.lock_timeout_ms),
                ("idle_in_transaction_session_timeout", self.idle_in_transaction_timeout_ms),
            )
        )
        keepalive = self.tcp_keepalive_seconds
        return {
            "connect_timeout": self.connect_timeout_seconds,
            "keepalives": 1,
            "keepalives_idle": keepalive,
            "keepalives_interval": keepalive,
            "keepalives_count": 3,
            "tcp_user_timeout": keepalive * 4 * 1000,
            "options": options,
        }


def normalise_url(raw: str) -> URL:
    """Pick our own driver for either database; make SQLite paths absolute."""
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
        path = Path(url.database).expanduser().resolve()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        url = url.set(drivername="sqlite+pysqlite", database=str(path))
    return url


SQLITE_FILE_MODE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")
"""The database file and the files SQLite keeps beside it, which hold the same rows."""


def _sqlite_path(url: URL) -> Path | None:
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    if str(url.database).startswith("file:"):
        return None  # a URI (tests' shared in-memory databases): nothing on disk to guard
    return Path(str(url.database))


def restrict_sqlite_files(path: Path) -> None:
    """Make the database file and its -wal, -shm and -journal files readable by this user only.

    The file holds ciphertext, but also blind indexes, ids, times and the audit log: nothing
    for other local users. SQLite creates -wal and -shm with the main file's permissions, so the
    main file is created 0600 before SQLite first opens it (`O_EXCL`: whoever creates it decides
    its mode), and any of them found looser (an installation from before, a copy) is tightened.
    A file owned by another user cannot be changed and is left to the operator; it is logged."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        try:
            mode = stat.S_IMODE(os.stat(companion).st_mode)
            if mode & 0o077:
                os.chmod(companion, mode & 0o700)
        except FileNotFoundError:
            continue
        except OSError as error:
            log.warning(
                "cannot restrict the database file's permissions",
                extra={"file": str(companion), "error": error.strerror},
            )


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


SQLITE_SYNCHRONOUS = ("FULL", "NORMAL")
"""FULL (the default): a commit is on disk when it returns, so an acknowledged write survives a
power loss, and the audit checkpoints (fsynced) never name a commit the database lost. NORMAL
(WAL): the last commits before a power loss may vanish; faster, see docs/resilience.md."""


def make_engine(
    raw_url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    limits: DatabaseLimits | None = None,
    sqlite_synchronous: str = "FULL",
) -> Engine:
    """An engine for `raw_url`. A running Haven passes `limits` (from its settings); without
    them (migrations driven by alembic alone, tests, tools) no server-side limit is set."""
    if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"sqlite_synchronous must be one of {SQLITE_SYNCHRONOUS}")
    url = normalise_url(raw_url)
    if url.drivername.startswith("sqlite"):
        busy_ms = limits.sqlite_busy_timeout_ms if limits else SQLITE_BUSY_TIMEOUT_MS
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
            **({"pool_timeout": limits.pool_timeout_seconds} if limits else {}),
        )
        _configure_sqlite(engine, busy_ms, sqlite_synchronous)
        return engine
    if limits is None:
        return create_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
        )
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_timeout=limits.pool_timeout_seconds,
        connect_args=limits.postgresql_connect_args(),
    )


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, synchronous: str) -> None:
    # pysqlite's own transaction handling is turned off so every transaction can start with
    # BEGIN IMMEDIATE: each request appends to the audit chain, so each one writes, and taking
    # the write lock up front makes concurrent requests wait (busy timeout) instead of failing
    # with "database is locked" when a reader later tries to upgrade.
    path = _sqlite_path(engine.url)
    if path is not None:
        restrict_sqlite_files(path)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        # Erased rows (a destroyed data key, search tokens) are overwritten, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()
        if path is not None:  # -wal and -shm exist now; any left loose before are tightened
            restrict_sqlite_files(path)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
