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


ROLE = (
    "`system_admin` (agencies, every user and client), `agency_admin` (its own agency's users "
    "and clients), `supervisor` (every case of its agency; approves referrals), `caseworker` "
    "(its own cases) or `auditor` (the audit log, no case content)."
)
SCOPES = (
    "`referrals:read` (read referrals addressed to the agency) and/or `referrals:respond` "
    "(accept, decline, post updates, complete)."
)
NEXT_CURSOR = (
    "Pass it as `?cursor=` to get the next page; null on the last page. Opaque: do not parse it."
)
STEPS = (
    "Non-empty: the token is good only for these steps (`password.change`: "
    "`POST /auth/password`; `mfa.enrol`: `POST /auth/mfa/enrol` and `/auth/mfa/confirm`), then "
    "for everything the role allows."
)


# --- auth ---------------------------------------------------------------------------------


class LoginRequest(Strict):
    username: str = Field(
        min_length=1,
        max_length=150,
        pattern=NO_CONTROL_CHARACTERS,
        description="Your username, as your administrator created it.",
    )
    password: str = Field(min_length=1, max_length=1024, description="Your password.")
    totp_code: str | None = Field(
        default=None, max_length=16, description="The 6-digit code, when a second factor is on."
    )
    recovery_code: str | None = Field(
        default=None,
        max_length=64,
        description="A one-time recovery code, instead of `totp_code` (lost authenticator).",
    )


class TokenResponse(BaseModel):
    access_token: str = Field(
        description="The bearer token: send it as `Authorization: Bearer <token>`. Opaque; keep "
        "it secret and never log it."
    )
    token_type: Literal["bearer"] = Field(default="bearer", description="Always `bearer`.")
    expires_in: int = Field(
        description="Seconds until the token's absolute expiry (it also dies after the idle "
        "timeout, at logout, and when the account or client is changed or disabled)."
    )


class LoginResponse(TokenResponse):
    restricted_to: list[TokenStep] = Field(default_factory=list, description=STEPS)


class ClientTokenResponse(TokenResponse):
    scope: str = Field(description="Space-separated scopes the token carries.")


class UserMe(BaseModel):
    id: uuid.UUID = Field(description="Your user id.")
    username: str = Field(description="Your username.")
    role: Role = Field(description=ROLE)
    agency_id: uuid.UUID = Field(description="The agency you work for.")
    mfa_enabled: bool = Field(description="True when your second factor (TOTP) is on.")
    must_change_password: bool = Field(
        description="True until you replace a password an administrator handed you."
    )
    restricted_to: list[TokenStep] = Field(description=STEPS)


class ClientMe(BaseModel):
    client_id: str = Field(description="Your API client's public id (`hvc_...`).")
    agency_id: uuid.UUID = Field(description="The partner agency the client acts for.")
    scopes: list[Scope] = Field(description="The scopes this token carries: " + SCOPES)


class PasswordChangeRequest(Strict):
    current_password: str = Field(
        min_length=1, max_length=1024, description="The password you logged in with."
    )
    new_password: str = Field(
        min_length=1,
        max_length=1024,
        description="At least 12 characters (up to 128), not among the 10,000 most common "
        "passwords; no composition rules: a long passphrase is best.",
    )


class StepsResponse(BaseModel):
    restricted_to: list[TokenStep] = Field(
        description="Steps the caller's token is still restricted to; empty when it is a full "
        "token now."
    )


class MfaEnrolment(BaseModel):
    otpauth_uri: str = Field(
        description="`otpauth://totp/...`: show it as a QR code for an authenticator app."
    )
    secret: str = Field(description="The same secret in base32, for typing in by hand.")
    recovery_codes: list[str] = Field(
        description="One-time codes for a lost authenticator. Shown once: store them safely."
    )


class MfaEnrolRequest(Strict):
    password: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="Your current password: always required, even with a token restricted "
        "to `mfa.enrol`, so a token alone cannot bind an authenticator to the account.",
    )


class MfaConfirmRequest(Strict):
    code: str = Field(
        min_length=6,
        max_length=16,
        description="The 6-digit code your authenticator app shows now (proves the enrolment).",
    )


class MfaDisableRequest(Strict):
    password: str = Field(
        min_length=1, max_length=1024, description="Your current password, to confirm."
    )


# --- administration -----------------------------------------------------------------------


class AgencyCreate(Strict):
    name: DisplayName = Field(
        min_length=1,
        max_length=200,
        description="The agency's name (unique), shown to every agency it works with; no "
        "control or text-direction characters.",
    )


class AgencyOut(BaseModel):
    id: uuid.UUID = Field(
        description="The agency's id: `agency_id` of its users and clients, `to_agency_id` of "
        "referrals to it."
    )
    name: str = Field(description="The agency's name.")


class AgencyList(BaseModel):
    items: list[AgencyOut] = Field(description="This page's agencies.")
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class UserCreate(Strict):
    username: DisplayName = Field(
        min_length=1,
        max_length=150,
        description="The login name (unique across Haven), also shown as the user's name; no "
        "spaces, control or text-direction characters.",
    )
    password: str = Field(
        min_length=1,
        max_length=1024,
        description="At least 12 characters (up to 128), not a common password.",
    )
    role: Role = Field(description=ROLE)
    agency_id: uuid.UUID = Field(
        description="The user's agency (an `agency_admin` may create users of its own agency only)."
    )
    must_change_password: bool = Field(
        default=False,
        description="Set true when you hand this password over: the user must then choose a "
        "new one at the first login before the token is good for anything else.",
    )


class UserOut(BaseModel):
    id: uuid.UUID = Field(description="The user's id.")
    username: str = Field(description="The login name.")
    role: Role = Field(description=ROLE)
    agency_id: uuid.UUID = Field(description="The user's agency.")
    is_active: bool = Field(description="False once deactivated: the user cannot log in.")
    mfa_enabled: bool = Field(description="True when the user's second factor (TOTP) is on.")
    must_change_password: bool = Field(
        description="True until the user replaces a password an administrator handed over."
    )
    pending_approval: bool = Field(
        description="True while an agency admin's change to this account (creating it, a role "
        "that reads case content, a password or second-factor reset) waits for approval by a "
        "supervisor of the agency or a system admin (`POST /users/{id}/approve`); until then "
        "nobody can log in as it."
    )
    created_at: datetime = Field(description="When the account was created (UTC).")


class UserList(BaseModel):
    items: list[UserOut] = Field(description="This page's users.")
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class UserUpdate(Strict):
    is_active: bool | None = Field(
        default=None,
        description="`false` deactivates the account and ends its tokens; `true` reactivates it.",
    )
    role: Role | None = Field(
        default=None,
        description="The new role; the user's tokens end (a new role starts from a new login). "
        + ROLE,
    )


class PasswordResetRequest(Strict):
    reset_mfa: bool = Field(
        default=False, description="Also remove the user's second factor (lost authenticator)."
    )


class PasswordResetResponse(BaseModel):
    user_id: uuid.UUID = Field(description="The user whose password was reset.")
    temporary_password: str = Field(
        description="Shown once: hand it to the user over a safe channel. The user must replace "
        "it at the next login; every earlier token is dead."
    )


class ApiClientCreate(Strict):
    agency_id: uuid.UUID = Field(description="The partner agency the client acts for.")
    name: DisplayName = Field(
        min_length=1,
        max_length=200,
        description="A name to recognise the client by (e.g. the partner's system), shown in "
        "the agency's client list and the audit log; no control or text-direction characters.",
    )
    scopes: list[Scope] = Field(
        min_length=1, max_length=10, description="What the client may do: " + SCOPES
    )


class ApiClientOut(BaseModel):
    id: uuid.UUID = Field(description="The client's record id (for `DELETE /api-clients/{id}`).")
    client_id: str = Field(
        description="The public id the partner sends as `client_id` to `POST /auth/token`."
    )
    name: str = Field(description="A name to recognise the client by.")
    agency_id: uuid.UUID = Field(description="The partner agency the client acts for.")
    scopes: list[Scope] = Field(description="What the client may do: " + SCOPES)
    created_at: datetime = Field(description="When the client was created (UTC).")


class ApiClientCreated(ApiClientOut):
    client_secret: str = Field(
        description="Shown once, never stored (only its HMAC-SHA256 under a keyring key is "
        "kept): hand it to the partner over a safe channel."
    )


class ApiClientList(BaseModel):
    items: list[ApiClientOut] = Field(description="This page's API clients.")
    next_cursor: str | None = Field(description=NEXT_CURSOR)
