"""Throttling of failed logins, kept in the database so every worker shares it.

A sliding window: an account (or an address) that collected `limit` failures within the last
`window` minutes is refused with 429 until enough of those failures are older than the window.
Refused attempts are not checked and not counted, so hammering a locked account does not extend
the lock: a real user waits at most `window` minutes after the last counted failure. Failures are
recorded in their own transaction, because the failed request itself is rolled back.

Unknown usernames are throttled exactly like known ones (the key is a hash of the name tried),
so the 429 tells an attacker nothing about which accounts exist.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from models.base import utcnow
from models.identity import LoginFailure
from services.config import Settings
from services.identity.rules import normalise_username


def account_key(username: str) -> str:
    return hashlib.sha256(normalise_username(username).encode("utf-8")).hexdigest()


def _window(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.login_window_minutes)


def _retry_after(
    session: Session,
    condition: ColumnElement[bool],
    limit: int,
    window: timedelta,
    now: datetime,
) -> int | None:
    """Seconds until fewer than `limit` failures matching `condition` remain in the window."""
    since = now - window
    count: int | None = session.scalar(
        select(func.count()).select_from(LoginFailure).where(condition, LoginFailure.at > since)
    )
    if not count or count < limit:
        return None
    # The (count - limit + 1)-th oldest failure must leave the window before one more try.
    expires = session.scalar(
        select(LoginFailure.at)
        .where(condition, LoginFailure.at > since)
        .order_by(LoginFailure.at)
        .offset(count - limit)
        .limit(1)
    )
    if expires is None:
        return None
    return max(1, math.ceil((expires + window - now).total_seconds()))


def retry_after(
    session: Session, settings: Settings, *, key: str, address: str | None
) -> int | None:
    """None when a login attempt may go ahead, else the seconds to wait (Retry-After)."""
    now = utcnow()
    window = _window(settings)
    waits = [
        _retry_after(
            session,
            LoginFailure.account_key == key,
            settings.login_max_failures_per_account,
            window,
            now,
        )
    ]
    if address:
        waits.append(
            _retry_after(
                session,
                LoginFailure.client_address == address,
                settings.login_max_failures_per_address,
                window,
                now,
            )
        )
    found = [w for w in waits if w is not None]
    return max(found) if found else None


def record_failure(
    session_factory: sessionmaker[Session],
    settings: Settings,
    *,
    key: str,
    address: str | None,
) -> None:
    """Count one failure, in its own committed transaction; prune rows older than the window."""
    now = utcnow()
    with session_factory() as session, session.begin():
        session.execute(delete(LoginFailure).where(LoginFailure.at <= now - _window(settings)))
        session.add(LoginFailure(account_key=key, client_address=address, at=now))


def clear_account(session: Session, key: str) -> None:
    """A successful login (or an admin's reset) forgives the account's earlier failures."""
    session.execute(delete(LoginFailure).where(LoginFailure.account_key == key))
