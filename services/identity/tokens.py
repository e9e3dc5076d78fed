"""Opaque bearer tokens: `hvn_` + 256 random bits, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.base import utcnow
from models.identity import AccessToken, ApiClient, User
from services.config import Settings
from services.errors import Unauthenticated
from services.identity.enums import PrincipalKind, Role
from services.policy import Principal

TOKEN_PREFIX = "hvn_"  # noqa: S105 (a prefix, not a secret)
LAST_USED_RESOLUTION = timedelta(seconds=60)
"""`last_used_at` is refreshed at most this often, to keep reads from writing every time."""


@dataclass(frozen=True)
class IssuedToken:
    value: str
    expires_in: int
    token_id: uuid.UUID


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_token_value() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def issue_user_token(
    session: Session,
    user: User,
    settings: Settings,
    *,
    restricted_to: frozenset[str] = frozenset(),
) -> IssuedToken:
    value = new_token_value()
    now = utcnow()
    lifetime = timedelta(hours=settings.token_lifetime_hours)
    row = AccessToken(
        token_hash=token_hash(value),
        user_id=user.id,
        restricted_to=" ".join(sorted(restricted_to)) or None,
        created_at=now,
        last_used_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return IssuedToken(value=value, expires_in=int(lifetime.total_seconds()), token_id=row.id)


def issue_client_token(
    session: Session, client: ApiClient, scopes: frozenset[str], settings: Settings
) -> IssuedToken:
    value = new_token_value()
    now = utcnow()
    lifetime = timedelta(minutes=settings.client_token_lifetime_minutes)
    row = AccessToken(
        token_hash=token_hash(value),
        api_client_id=client.id,
        scopes=" ".join(sorted(scopes)),
        created_at=now,
        last_used_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return IssuedToken(value=value, expires_in=int(lifetime.total_seconds()), token_id=row.id)


def resolve_token(session: Session, value: str | None, settings: Settings) -> Principal:
    """The principal behind a bearer token, or `Unauthenticated` (missing, unknown, expired,
    idle too long, revoked, its user or client deactivated, or its user pending approval)."""
    if not value or not value.startswith(TOKEN_PREFIX) or len(value) > 200:
        raise Unauthenticated("A valid bearer token is required.")
    found = session.execute(
        select(AccessToken, User)
        .outerjoin(User, User.id == AccessToken.user_id)
        .where(AccessToken.token_hash == token_hash(value))
    ).first()
    row, joined_user = (found[0], found[1]) if found is not None else (None, None)
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise Unauthenticated("The token is invalid, expired or revoked.")
    restricted = frozenset((row.restricted_to or "").split())
    principal: Principal
    if row.user_id is not None:
        if now - row.last_used_at > timedelta(minutes=settings.token_idle_minutes):
            raise Unauthenticated("The token expired after inactivity; log in again.")
        user = joined_user
        # A pending account has no live token (every path to pending ends them); refusing it
        # here as well means none can appear by a path added later.
        if user is None or not user.is_active or user.pending_approval:
            raise Unauthenticated("The token is invalid, expired or revoked.")
        principal = Principal(
            kind=PrincipalKind.USER,
            id=user.id,
            agency_id=user.agency_id,
            name=user.username,
            role=Role(user.role),
            token_id=row.id,
            restricted_to=restricted,
        )
    else:
        client = session.get(ApiClient, row.api_client_id)
        if client is None or client.revoked_at is not None:
            raise Unauthenticated("The token is invalid, expired or revoked.")
        principal = Principal(
            kind=PrincipalKind.CLIENT,
            id=client.id,
            agency_id=client.agency_id,
            name=client.client_id,
            scopes=frozenset((row.scopes or "").split()),
            token_id=row.id,
        )
    if now - row.last_used_at >= LAST_USED_RESOLUTION:
        session.execute(
            update(AccessToken).where(AccessToken.id == row.id).values(last_used_at=now)
        )
    return principal


def revoke_token(session: Session, token_id: uuid.UUID) -> None:
    session.execute(
        update(AccessToken)
        .where(AccessToken.id == token_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_user_tokens(
    session: Session, user_id: uuid.UUID, *, keep: uuid.UUID | None = None
) -> int:
    """Kill every live token of the user (but `keep`, the caller's own, when given)."""
    statement = update(AccessToken).where(
        AccessToken.user_id == user_id, AccessToken.revoked_at.is_(None)
    )
    if keep is not None:
        statement = statement.where(AccessToken.id != keep)
    result = session.execute(statement.values(revoked_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def set_restrictions(session: Session, token_id: uuid.UUID, steps: frozenset[str]) -> None:
    """Narrow or lift a live token's restriction once a required step (e.g. enrolment) is done."""
    session.execute(
        update(AccessToken)
        .where(AccessToken.id == token_id)
        .values(restricted_to=" ".join(sorted(steps)) or None)
    )


def restrict_user_tokens(session: Session, user_id: uuid.UUID, steps: frozenset[str]) -> int:
    """Add `steps` to the restriction of every live token of the user (a second factor removed
    while the role requires one: no token of the account stays good for more than enrolling)."""
    if not steps:
        return 0
    rows = session.execute(
        select(AccessToken.id, AccessToken.restricted_to).where(
            AccessToken.user_id == user_id, AccessToken.revoked_at.is_(None)
        )
    ).all()
    for token_id, current in rows:
        set_restrictions(session, token_id, frozenset((current or "").split()) | steps)
    return len(rows)


def revoke_client_tokens(session: Session, api_client_id: uuid.UUID) -> int:
    result = session.execute(
        update(AccessToken)
        .where(AccessToken.api_client_id == api_client_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)
