"""Throttling of failed logins (and failed client authentications), kept in the database so
every worker shares it.

Limits, each a sliding window of `login_window_minutes` (15):

- `login_max_failures_per_account` (10) failures for one account **from one client address**;
- `login_max_failures_per_address` (30) failures from one address, whatever the accounts.

Why "per account" means "per account and address": an account-wide limit that anyone may reach
is a lockout switch in a stranger's hands. With it, ten wrong guesses for a supervisor's name,
sent from anywhere, would keep the supervisor out for as long as the stranger keeps going. Counted
per (account, address), a stranger locks out only themselves: the real user, from their own
address, still gets in. What an account-wide limit protected against (guessing one password from
many addresses) is bounded instead by the per-address limits (each address gets 10 guesses at a
given account per window, 30 in all), by the password rules (12+ characters, not common, not a
trivial pattern) and by the second factor; and it is made visible: when an account collects
`login_max_failures_per_account` failures (and every multiple of it) from more than one address
within the window, the caller audits `auth.login_distributed_failures` for the operators to act on.

Counting is race-free: an attempt is recorded BEFORE its slow password check, in its own committed
transaction, and only then are the failures counted (its own row included). N parallel guesses
therefore see each other's rows: the k-th to commit counts at least k, so no more than the limit
get through to the password check. A refused attempt's row is deleted again (refused attempts are
neither checked nor counted, so hammering a locked account does not extend the lock: a real user
waits at most the window after the last counted failure); a successful one deletes its row (and
forgives that address's earlier failures for the account). A failed one leaves its row: that is
the counted failure. Only the attempt bookkeeping runs in these short transactions; no database
transaction is open during the password check itself.

Unknown usernames are throttled exactly like known ones (the key is a keyed HMAC of the name
tried), so the 429 tells an attacker nothing about which accounts exist.

Rows stored by an earlier release keyed by a plain SHA-256 of the name need no conversion (and
could not have one: the names are not stored). They are never matched again and age out of the
window (`login_window_minutes`, 15) as new attempts arrive; an upgrade forgets at most one
window of counted failures.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, true
from sqlalchemy.orm import Session, sessionmaker

from models.base import utcnow
from models.identity import LoginFailure
from services.config import Settings
from services.crypto import Keyring, lookup_digest
from services.database import own_transaction
from services.identity.rules import normalise_username

KEY_PURPOSE = "login-throttle"
"""The keyring system key the throttle's account keys are HMACs under."""


def account_key(keyring: Keyring, username: str) -> str:
    """The key failures of the (normalised) username tried are counted under: a keyed HMAC, so
    the `login_failures` table cannot be read back into the names people tried."""
    return lookup_digest(keyring, KEY_PURPOSE, "user\x00" + normalise_username(username))


def client_key(keyring: Keyring, client_id: str) -> str:
    """The key of a partner client id tried at `/auth/token` (apart from every username's)."""
    return lookup_digest(keyring, KEY_PURPOSE, "client\x00" + client_id)


def _window(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.login_window_minutes)


def _same_source(key: str, address: str | None) -> ColumnElement[bool]:
    """Failures for this account from this address (or, without an address, from nowhere)."""
    where_from = (
        LoginFailure.client_address == address if address else LoginFailure.client_address.is_(None)
    )
    return and_(LoginFailure.account_key == key, where_from)


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
        .order_by(LoginFailure.at, LoginFailure.id)
        .offset(count - limit)
        .limit(1)
    )
    if expires is None:
        return None
    return max(1, math.ceil((expires + window - now).total_seconds()))


def retry_after(
    session: Session,
    settings: Settings,
    *,
    key: str,
    address: str | None,
    exclude: uuid.UUID | None = None,
) -> int | None:
    """None when an attempt may go ahead, else the seconds to wait (Retry-After).

    `exclude`: the attempt's own row, which is not one of the failures it is judged by."""
    now = utcnow()
    window = _window(settings)
    own: ColumnElement[bool] = LoginFailure.id != exclude if exclude is not None else true()
    waits = [
        _retry_after(
            session,
            and_(_same_source(key, address), own),
            settings.login_max_failures_per_account,
            window,
            now,
        )
    ]
    if address:
        waits.append(
            _retry_after(
                session,
                and_(LoginFailure.client_address == address, own),
                settings.login_max_failures_per_address,
                window,
                now,
            )
        )
    found = [w for w in waits if w is not None]
    return max(found) if found else None


@dataclass(frozen=True)
class Attempt:
    """One attempt, recorded before its check: a failure unless `succeeded` deletes it."""

    id: uuid.UUID
    key: str
    address: str | None
    retry_after: int | None
    """Set when the attempt is refused (429); its row is gone again then."""
    account_failures: int
    """Failures for this account within the window from every address, this attempt included."""
    account_addresses: int
    """How many distinct addresses those failures came from."""


def begin_attempt(
    session_factory: sessionmaker[Session],
    settings: Settings,
    *,
    key: str,
    address: str | None,
) -> Attempt:
    """Record the attempt (committed), then judge it by the failures already recorded.

    Two short transactions of their own: the row must be committed before counting, so that
    parallel attempts (other workers, other connections) see each other. Prunes rows older
    than the window."""
    now = utcnow()
    window = _window(settings)
    with own_transaction(session_factory) as session:
        session.execute(delete(LoginFailure).where(LoginFailure.at <= now - window))
        row = LoginFailure(account_key=key, client_address=address, at=now)
        session.add(row)
        session.flush()
        attempt_id = row.id
    with own_transaction(session_factory) as session:
        wait = retry_after(session, settings, key=key, address=address, exclude=attempt_id)
        if wait is not None:
            session.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id))
            return Attempt(attempt_id, key, address, wait, 0, 0)
        since = now - window
        failures, addresses = session.execute(
            select(func.count(), func.count(func.distinct(LoginFailure.client_address))).where(
                LoginFailure.account_key == key, LoginFailure.at > since
            )
        ).one()
    return Attempt(attempt_id, key, address, None, int(failures or 0), int(addresses or 0))


def distributed_failures(attempt: Attempt, settings: Settings) -> bool:
    """True when this failed attempt brings the account's failures from several addresses to
    the per-account limit (or a multiple of it): worth an alert, never a lockout."""
    limit = settings.login_max_failures_per_account
    return (
        attempt.account_addresses > 1
        and attempt.account_failures >= limit
        and attempt.account_failures % limit == 0
    )


def succeeded(session: Session, attempt: Attempt) -> None:
    """The check passed: the attempt is no failure, and this address's earlier failures for
    the account are forgiven (in the caller's transaction: they stand if it rolls back)."""
    session.execute(
        delete(LoginFailure).where(
            or_(LoginFailure.id == attempt.id, _same_source(attempt.key, attempt.address))
        )
    )


def forget(session_factory: sessionmaker[Session], attempt: Attempt) -> None:
    """Not a failure after all (e.g. the right password, but the second factor is missing),
    though the request fails: delete the attempt's row in a transaction of its own."""
    with own_transaction(session_factory) as session:
        session.execute(delete(LoginFailure).where(LoginFailure.id == attempt.id))


def clear_account(session: Session, key: str) -> None:
    """An admin's reset forgives every failure of the account, from every address."""
    session.execute(delete(LoginFailure).where(LoginFailure.account_key == key))
