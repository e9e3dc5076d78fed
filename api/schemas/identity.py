"""Request and response bodies of the auth and administration endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.names import DisplayName
from services.identity.enums import Role, Scope, TokenStep

NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]+$"
"""One-line names: no NUL (PostgreSQL text cannot hold it) and no control characters."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


# --- auth ---------------------------------------------------------------------------------


class LoginRequest(Strict):
    username: str = Field(min_length=1, max_length=150, pattern=NO_CONTROL_CHARACTERS)
    password: str = Field(min_length=1, max_length=1024)
    totp_code: str | None = Field(
        default=None, max_length=16, description="The 6-digit code, when a second factor is on."
    )
    recovery_code: str | None = Field(
        default=None,
        max_length=64,
        description="A one-time recovery code, instead of `totp_code` (lost authenticator).",
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the RFC 6749 type name)
    expires_in: int
    """Seconds until the token's absolute expiry (it also dies after the idle timeout)."""


class LoginResponse(TokenResponse):
    restricted_to: list[TokenStep] = Field(
        default_factory=list,
        description="Non-empty: the token is good only for these steps "
        "(`password.change`: POST /auth/password; `mfa.enrol`: POST /auth/mfa/enrol and "
        "/auth/mfa/confirm), then for everything the role allows.",
    )


class ClientTokenResponse(TokenResponse):
    scope: str
    """Space-separated scopes the token carries."""


class UserMe(BaseModel):
    id: uuid.UUID
    username: str
    role: Role
    agency_id: uuid.UUID
    mfa_enabled: bool
    must_change_password: bool
    restricted_to: list[TokenStep]


class ClientMe(BaseModel):
    client_id: str
    agency_id: uuid.UUID
    scopes: list[Scope]


class PasswordChangeRequest(Strict):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(
        min_length=1,
        max_length=1024,
        description="At least 12 characters (up to 128), not among the 10,000 most common "
        "passwords; no composition rules: a long passphrase is best.",
    )


class StepsResponse(BaseModel):
    restricted_to: list[TokenStep]
    """Steps the caller's token is still restricted to; empty when it is a full token now."""


class MfaEnrolment(BaseModel):
    otpauth_uri: str
    """`otpauth://totp/...`: show it as a QR code for an authenticator app."""
    secret: str
    """The same secret in base32, for typing in by hand."""
    recovery_codes: list[str]
    """One-time codes for a lost authenticator. Shown once: store them safely."""


class MfaEnrolRequest(Strict):
    password: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="Your current password: required unless the token is restricted to "
        "`mfa.enrol`.",
    )


class MfaConfirmRequest(Strict):
    code: str = Field(min_length=6, max_length=16)


class MfaDisableRequest(Strict):
    password: str = Field(min_length=1, max_length=1024)


# --- administration -----------------------------------------------------------------------


class AgencyCreate(Strict):
    name: DisplayName = Field(
        min_length=1,
        max_length=200,
        description="Shown to every agency it works with; no control or text-direction characters.",
    )


class AgencyOut(BaseModel):
    id: uuid.UUID
    name: str


class AgencyList(BaseModel):
    items: list[AgencyOut]
    next_cursor: str | None


class UserCreate(Strict):
    username: DisplayName = Field(
        min_length=1,
        max_length=150,
        description="The login name, also shown as the user's name; no spaces, control or "
        "text-direction characters.",
    )
    password: str = Field(
        min_length=1,
        max_length=1024,
        description="At least 12 characters (up to 128), not a common password.",
    )
    role: Role
    agency_id: uuid.UUID
    must_change_password: bool = Field(
        default=False,
        description="Set true when you hand this password over: the user must then choose a "
        "new one at the first login before the token is good for anything else.",
    )


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    role: Role
    agency_id: uuid.UUID
    is_active: bool
    mfa_enabled: bool
    must_change_password: bool
    created_at: datetime


class UserList(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class UserUpdate(Strict):
    is_active: bool | None = None
    role: Role | None = None


class PasswordResetRequest(Strict):
    reset_mfa: bool = Field(
        default=False, description="Also remove the user's second factor (lost authenticator)."
    )


class PasswordResetResponse(BaseModel):
    user_id: uuid.UUID
    temporary_password: str
    """Shown once. The user must replace it at the next login; every earlier token is dead."""


class ApiClientCreate(Strict):
    agency_id: uuid.UUID
    name: DisplayName = Field(
        min_length=1,
        max_length=200,
        description="Shown in the agency's client list and the audit log; no control or "
        "text-direction characters.",
    )
    scopes: list[Scope] = Field(min_length=1, max_length=10)


class ApiClientOut(BaseModel):
    id: uuid.UUID
    client_id: str
    name: str
    agency_id: uuid.UUID
    scopes: list[Scope]
    created_at: datetime


class ApiClientCreated(ApiClientOut):
    client_secret: str
    """Shown once, never stored: only its HMAC-SHA256 under a keyring key is kept."""


class ApiClientList(BaseModel):
    items: list[ApiClientOut]
    next_cursor: str | None
