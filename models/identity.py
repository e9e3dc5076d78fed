"""Agencies, staff users, partner API clients, access tokens, second factors, login throttling."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, new_id, utcnow


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    """Stored case-folded so `Amal` and `amal` are one account."""
    password_hash: Mapped[str] = mapped_column(String(255))
    """Argon2id PHC string; the parameters travel inside it so they can be raised later."""
    role: Mapped[str] = mapped_column(String(32))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Set by an admin's password reset (or creation): the next login only allows changing it."""
    pending_approval: Mapped[bool] = mapped_column(default=False, server_default=false())
    """An agency admin's change to an account that reads case content, waiting for a second
    person (a supervisor of the agency, or a system admin): until then nobody logs in as it."""
    totp_secret: Mapped[bytes | None]
    """TOTP secret sealed with the keyring's `totp` system key (AES-GCM, bound to the user id)."""
    totp_enabled_at: Mapped[datetime | None]
    """When the second factor was confirmed; NULL while not enrolled or only pending."""
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    """The last accepted TOTP time-step: a code is accepted once, only for a later step."""


class ApiClient(Base):
    """A partner agency's machine credential (OAuth2 client credentials)."""

    __tablename__ = "api_clients"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    """Public identifier the partner sends to `/auth/token`."""
    secret_hash: Mapped[str] = mapped_column(String(255))
    """Argon2id PHC string of the secret, which is shown once and never stored."""
    name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    scopes: Mapped[str] = mapped_column(String(255))
    """Space-separated scopes the client was granted."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class AccessToken(Base):
    """An issued bearer token, known only by the SHA-256 of its value."""

    __tablename__ = "access_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    api_client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_clients.id"), index=True
    )
    scopes: Mapped[str | None] = mapped_column(String(255))
    """Client tokens: the (possibly narrowed) scopes this token carries."""
    restricted_to: Mapped[str | None] = mapped_column(String(255))
    """Space-separated steps a limited token is good for (e.g. `mfa.enrol password.change`)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class RecoveryCode(Base):
    """A one-time second-factor recovery code, known only by its SHA-256 (80 random bits)."""

    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class LoginFailure(Base):
    """One failed password (or second-factor) check, for throttling shared by every worker.

    Rows older than the throttling window are deleted as new ones arrive.
    """

    __tablename__ = "login_failures"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_key: Mapped[str] = mapped_column(String(64), index=True)
    """Keyed HMAC-SHA-256 (keyring purpose `login-throttle`) of the normalised username tried
    (known or not), never the name itself nor a plain hash of it."""
    client_address: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
