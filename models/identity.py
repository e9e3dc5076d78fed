"""Agencies and staff users. Tokens, API clients and MFA tables join this file in migration 0003."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
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
