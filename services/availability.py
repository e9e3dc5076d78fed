"""Infrastructure faults: which failures mean "temporarily unavailable", and why.

A request can fail because of the request (a domain error, or a bug: 4xx or 500) or because
something Haven depends on is not there right now: the database is down, stalled, out of
connections or out of disk, a lock or statement waited past its limit, the keyring cannot be
used. Those are not bugs, and the same request is expected to succeed later, so the API answers
503 with `Retry-After` (see `api/errors.py`). This module names the cause; it never decides an
HTTP status.

The cause is found from the error itself: PostgreSQL's SQLSTATE where the server sent one,
SQLite's error name, the operating system's errno, and, for a connection PostgreSQL refused
before any session existed (psycopg then has no SQLSTATE), the server's message. Nothing here
reads an error's parameters or statement, so no value from a record reaches a log line.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc

from services.crypto import KeyringUnavailable


@dataclass(frozen=True)
class Cause:
    name: str
    """Stable identifier for logs and dashboards, e.g. `database_connection_limit`."""
    detail: str
    """One sentence for the client; names the kind of fault, never a host, file or value."""
    retry_after_seconds: int
    """A reasonable first wait before retrying."""


DATABASE_UNREACHABLE = Cause(
    "database_unreachable", "Haven cannot reach its database right now.", 5
)
DATABASE_NOT_ANSWERING = Cause(
    "database_not_answering", "Haven's database did not answer in time.", 5
)
CONNECTION_LIMIT = Cause(
    "database_connection_limit",
    "Haven's database has reached its connection limit and refuses new connections.",
    2,
)
POOL_EXHAUSTED = Cause(
    "connection_pool_exhausted", "Every database connection of this server is busy.", 1
)
SERVER_BUSY = Cause("server_busy", "This server has too many requests waiting.", 1)
DISK_FULL = Cause("disk_full", "The disk that holds Haven's data is full.", 30)
STORAGE_ERROR = Cause("storage_error", "The storage under Haven's data reported an error.", 10)
OUT_OF_MEMORY = Cause("database_out_of_memory", "Haven's database is out of memory.", 5)
LOCK_TIMEOUT = Cause(
    "database_lock_timeout", "Waiting for a lock held by another request took too long.", 1
)
STATEMENT_TIMEOUT = Cause(
    "database_statement_timeout", "A database statement took longer than allowed.", 2
)
IDLE_TRANSACTION_TIMEOUT = Cause(
    "database_idle_transaction_timeout",
    "The database ended a transaction that waited too long between statements.",
    1,
)
CONCURRENT_CONFLICT = Cause(
    "database_conflict", "A concurrent request conflicted with this one.", 1
)
KEYRING_UNAVAILABLE = Cause("keyring_unavailable", "Haven's keyring cannot be used right now.", 30)

_BY_SQLSTATE: dict[str, Cause] = {
    "53300": CONNECTION_LIMIT,  # too_many_connections
    "53100": DISK_FULL,  # disk_full
    "53200": OUT_OF_MEMORY,  # out_of_memory
    "55P03": LOCK_TIMEOUT,  # lock_not_available (lock_timeout)
    "57014": STATEMENT_TIMEOUT,  # query_canceled (statement_timeout)
    "25P03": IDLE_TRANSACTION_TIMEOUT,  # idle_in_transaction_session_timeout
    "40001": CONCURRENT_CONFLICT,  # serialization_failure
    "40P01": CONCURRENT_CONFLICT,  # deadlock_detected
    "58030": STORAGE_ERROR,  # io_error
}
_BY_SQLSTATE_CLASS: dict[str, Cause] = {
    "08": DATABASE_UNREACHABLE,  # connection exception
    "57": DATABASE_UNREACHABLE,  # operator intervention: shutdown, crash, starting up
    "53": OUT_OF_MEMORY,  # insufficient resources (the rest of the class)
    "58": STORAGE_ERROR,  # system error
}
# PostgreSQL's FATAL when it refuses a connection arrives before a session exists, without a
# SQLSTATE on the client side; these are its (English) messages.
_CONNECTION_REFUSALS: tuple[tuple[str, Cause], ...] = (
    ("too many clients", CONNECTION_LIMIT),
    ("too many connections", CONNECTION_LIMIT),
    ("connection slots are reserved", CONNECTION_LIMIT),
    ("out of memory", OUT_OF_MEMORY),
    ("no space left on device", DISK_FULL),
)
_BY_SQLITE_NAME: dict[str, Cause] = {
    "SQLITE_BUSY": LOCK_TIMEOUT,
    "SQLITE_LOCKED": LOCK_TIMEOUT,
    "SQLITE_FULL": DISK_FULL,
    "SQLITE_IOERR": STORAGE_ERROR,
    "SQLITE_CANTOPEN": STORAGE_ERROR,
    "SQLITE_NOMEM": OUT_OF_MEMORY,
    "SQLITE_PROTOCOL": LOCK_TIMEOUT,
}
_SQLITE_MESSAGES: tuple[tuple[str, Cause], ...] = (
    ("database is locked", LOCK_TIMEOUT),
    ("database table is locked", LOCK_TIMEOUT),
    ("database or disk is full", DISK_FULL),
    ("disk i/o error", STORAGE_ERROR),
    ("unable to open database file", STORAGE_ERROR),
)
_BY_ERRNO: dict[int, Cause] = {
    errno.ENOSPC: DISK_FULL,
    errno.EDQUOT: DISK_FULL,
    errno.EIO: STORAGE_ERROR,
    errno.EROFS: STORAGE_ERROR,
}


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, the driver error SQLAlchemy wraps (`.orig`), and their causes."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend([getattr(current, "orig", None), current.__cause__, current.__context__])


def _sqlite_cause(error: BaseException) -> Cause | None:
    name = getattr(error, "sqlite_errorname", None)
    if isinstance(name, str):
        for prefix, cause in _BY_SQLITE_NAME.items():
            if name == prefix or name.startswith(prefix + "_"):
                return cause
    message = str(error).lower()
    for text, cause in _SQLITE_MESSAGES:
        if text in message:
            return cause
    return None


def _postgresql_cause(error: BaseException) -> Cause | None:
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and len(sqlstate) == 5:
        return _BY_SQLSTATE.get(sqlstate) or _BY_SQLSTATE_CLASS.get(sqlstate[:2])
    return None


def _driver_cause(error: BaseException) -> Cause | None:
    module = type(error).__module__
    if module.startswith("psycopg"):
        found = _postgresql_cause(error)
        if found is not None:
            return found
        import psycopg

        if isinstance(error, psycopg.OperationalError):
            # No SQLSTATE: the connection failed or broke (refused, reset, closed, or refused
            # by the server at start-up, which says why only in its message).
            message = str(error).lower()
            for text, cause in _CONNECTION_REFUSALS:
                if text in message:
                    return cause
            return DATABASE_UNREACHABLE
        if isinstance(error, psycopg.InterfaceError):
            return DATABASE_UNREACHABLE  # e.g. "the connection is closed"
        return None
    if module == "sqlite3":
        import sqlite3

        if isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError):
            return _sqlite_cause(error)
    return None


def unavailable_cause(error: BaseException) -> Cause | None:
    """The infrastructure fault behind `error`, or None when it is not one (a bug, a bad
    request, a domain error)."""
    from services.errors import Unavailable as DomainUnavailable

    for item in _chain(error):
        if isinstance(item, DomainUnavailable):
            return item.cause
        if isinstance(item, KeyringUnavailable):
            return KEYRING_UNAVAILABLE
        if isinstance(item, sa_exc.TimeoutError):  # the pool had no connection to give
            return POOL_EXHAUSTED
        if isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated:
            return DATABASE_UNREACHABLE
        if isinstance(item, OSError) and item.errno in _BY_ERRNO:
            return _BY_ERRNO[item.errno]
        if isinstance(item, ConnectionError | TimeoutError):
            return DATABASE_UNREACHABLE
        found = _driver_cause(item)
        if found is not None:
            return found
    return None
