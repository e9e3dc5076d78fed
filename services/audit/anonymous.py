"""Refusals of unauthenticated requests: counted per client address, not one audit row each.

Anyone may send a request without a token, so if each refusal appended its own row, one client
could grow the append-only log without bound and bury the refusals that matter. Instead, per
client address and window (`HAVEN_ANONYMOUS_WINDOW_SECONDS`):

- the first refusal of a window is recorded as its own event at once, exactly as before, so the
  start of every burst is in the log with its action, route and request id;
- every further refusal in the window only increments the address's counter
  (`anonymous_refusal_windows`), in the refusal's own committed transaction, so the count
  survives the request's rollback and any worker process stopping;
- when the window has ended, the counter becomes one `auth.anonymous_refused` summary event (how
  many refusals beyond the first, how many answered 429, first and last time) and is deleted.
  That happens on the next refusal from the same address, opportunistically on the first
  refusal of any other window, and in the `anonymous_refusal_summaries` job, whichever comes
  first; the counter row and the summary change in one transaction, so a window is summarised
  exactly once.
So the log grows by at most two rows per address and window, and the individual events plus the
summaries' counts add up to every refusal.

Past `HAVEN_ANONYMOUS_MAX_REFUSALS` refusals in a window the address is answered 429 with
Retry-After (the end of the window) instead: the throttle and the counter are the same row.

Which refusals: those a stranger can repeat at will and that name nothing about an account (a
missing or rejected token, throttled logins, refusals of malformed anonymous requests).
Failed logins stay one event each: the login throttle bounds them already, and each names the
account that was tried, which an investigation needs.

The counter row is locked (`SELECT ... FOR UPDATE` on PostgreSQL; the write lock SQLite takes
with every transaction) before it is read, so parallel refusals from several workers count
exactly and exactly one of them is the first of its window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from models.audit import AnonymousRefusalWindow
from models.base import utcnow
from services.actions import Action
from services.audit.context import RequestMeta, current_request
from services.audit.enums import AuditOutcome

LIMITS_KEY = "haven_anonymous_limits"
"""session.info (set on the session factory by `enable_anonymous_summaries`)."""
FLUSH_BATCH = 50
"""Ended windows of other addresses summarised alongside a new window's first refusal."""

SUMMARISED: frozenset[Action] = frozenset(
    {
        Action.AUTH_TOKEN_REJECTED,
        Action.AUTH_LOGIN_THROTTLED,
        Action.AUTH_TOKEN_THROTTLED,
        Action.ACCESS_DENIED,
        Action.REQUEST_REFUSED,
    }
)
"""Anonymous refusals that are counted rather than recorded one by one (after the first)."""


@dataclass(frozen=True)
class AnonymousLimits:
    window: timedelta
    max_refusals: int


@dataclass(frozen=True)
class Counted:
    """What became of one anonymous refusal."""

    first: bool
    """The first of its window: the caller records it as its own event."""
    retry_after: int | None
    """Set when the address is over the limit: answer 429, retry after this many seconds."""


def limits_from(window_seconds: int, max_refusals: int) -> AnonymousLimits:
    return AnonymousLimits(timedelta(seconds=window_seconds), max_refusals)


def enable_anonymous_summaries(
    session_factory: sessionmaker[Session], limits: AnonymousLimits
) -> None:
    """Count this factory's anonymous refusals (see the module docstring); without it (tools,
    the operator's commands) every refusal is recorded as its own event."""
    info = dict(session_factory.kw.get("info") or {})
    info[LIMITS_KEY] = limits
    session_factory.configure(info=info)


def limits_of(session: Session) -> AnonymousLimits | None:
    limits = session.info.get(LIMITS_KEY)
    return limits if isinstance(limits, AnonymousLimits) else None


def _key(address: str | None) -> str:
    return (address or "")[:64]


def _lock_row(session: Session, key: str, now: datetime) -> AnonymousRefusalWindow:
    """The address's counter row, created when absent, locked for this transaction."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(AnonymousRefusalWindow)
        .values(client_address=key, started_at=now, last_at=now, count=0, throttled=0)
        .on_conflict_do_nothing(index_elements=["client_address"])
    )
    return session.execute(
        select(AnonymousRefusalWindow)
        .where(AnonymousRefusalWindow.client_address == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _summary_detail(row: AnonymousRefusalWindow, window: timedelta) -> dict[str, Any]:
    return {
        "count": row.count - 1,
        "throttled": row.throttled,
        "first_at": row.started_at.isoformat(),
        "last_at": row.last_at.isoformat(),
        "window_seconds": int(window.total_seconds()),
    }


def _summarise(session: Session, row: AnonymousRefusalWindow, window: timedelta) -> bool:
    """Write the ended window's summary (when anything beyond its first refusal was counted).
    The caller deletes or restarts the row in the same transaction."""
    if row.count <= 1:
        return False
    from services.audit.log import anonymous, record  # log.py imports this module

    record(
        session,
        anonymous(),
        Action.AUTH_ANONYMOUS_REFUSED,
        outcome=AuditOutcome.DENIED,
        request=RequestMeta(client_address=row.client_address or None),
        detail=_summary_detail(row, window),
    )
    return True


def flush_ended(session: Session, window: timedelta, *, limit: int | None = None) -> int:
    """Summarise and delete every window that has ended (at most `limit`); returns how many
    summary events were written. Runs in the caller's transaction."""
    now = utcnow()
    statement = (
        select(AnonymousRefusalWindow)
        .where(AnonymousRefusalWindow.started_at <= now - window)
        .order_by(AnonymousRefusalWindow.started_at)
        .with_for_update(skip_locked=True)
    )
    if limit is not None:
        statement = statement.limit(limit)
    written = 0
    for row in session.execute(statement).scalars().all():
        written += _summarise(session, row, window)
        session.execute(
            delete(AnonymousRefusalWindow).where(
                AnonymousRefusalWindow.client_address == row.client_address
            )
        )
    return written


def count_refusal(session: Session, limits: AnonymousLimits) -> Counted:
    """Count one anonymous refusal from the current request's address, in `session`'s
    transaction (which the caller commits on its own, see `record_refusal`)."""
    now = utcnow()
    row = _lock_row(session, _key(current_request().client_address), now)
    if row.count and row.started_at <= now - limits.window:
        _summarise(session, row, limits.window)  # the previous window ended: close it first
        row.count = 0
    if row.count == 0:
        row.started_at, row.last_at, row.count, row.throttled = now, now, 1, 0
        session.flush()
        flush_ended(session, limits.window, limit=FLUSH_BATCH)
        return Counted(first=True, retry_after=None)
    row.count += 1
    row.last_at = now
    retry_after: int | None = None
    if row.count > limits.max_refusals:
        row.throttled += 1
        ends = row.started_at + limits.window
        retry_after = max(1, math.ceil((ends - now).total_seconds()))
    session.flush()
    return Counted(first=False, retry_after=retry_after)
