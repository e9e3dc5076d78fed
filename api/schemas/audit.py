"""Response bodies of the audit endpoints. Events hold names and ids, never a case value."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from models.base import MAX_YEAR, MIN_YEAR, in_supported_range
from services.audit.enums import ActorType, AuditOutcome
from services.identity.enums import Role


def _supported_time(value: datetime) -> datetime:
    if not in_supported_range(value):
        raise ValueError(f"must lie between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


SinceTime = Annotated[datetime, AfterValidator(_supported_time)]
"""`?since=`: RFC 3339 (no offset means UTC), in the years 1900 to 2100."""


class AuditActor(BaseModel):
    type: ActorType = Field(
        description="`user` (staff), `client` (a partner's API client), `anonymous` (no valid "
        "token: a login attempt, a refused token) or `system` (an operator's command)."
    )
    id: uuid.UUID | None = Field(
        default=None, description="The user's or API client's id; null for anonymous and system."
    )
    role: Role | None = Field(default=None, description="A staff user's role.")
    scopes: list[str] | None = Field(default=None, description="An API client's scopes.")
    agency_id: uuid.UUID | None = Field(default=None, description="The actor's agency.")


class AuditEventOut(BaseModel):
    seq: int = Field(description="Position in the chain: 1, 2, 3 ... with no gaps.")
    at: datetime = Field(description="When it happened (UTC).")
    actor: AuditActor = Field(description="Who acted.")
    action: str = Field(description="Dotted: `auth.login`, `case.read`, `referral.approve`, ...")
    resource_type: str | None = Field(
        description="The kind of record acted on (`case`, `referral`, `user`, ...), if any."
    )
    resource_id: str | None = Field(description="The id of the record acted on, if any.")
    case_id: uuid.UUID | None = Field(description="The case the event concerns, if any.")
    outcome: AuditOutcome = Field(
        description="`success`, `denied` (a refusal: 401, 403, 404, 429 ...) or `error`."
    )
    request_id: str | None = Field(
        description="The HTTP request's `X-Request-ID` (null for operator commands)."
    )
    client_address: str | None = Field(description="The caller's IP address, when known.")
    fields: list[str] = Field(description="Names of the fields touched (never their values).")
    detail: dict[str, Any] = Field(description="Non-sensitive context (status, counts, ids).")
    hash: str = Field(
        description="SHA-256 of this event's canonical content and the previous hash."
    )


class AuditEventList(BaseModel):
    items: list[AuditEventOut] = Field(description="This page's events, in `seq` order.")
    next_cursor: str | None = Field(
        description="Pass it as `?cursor=` to get the next page; null on the last page."
    )


class AuditVerifyOut(BaseModel):
    valid: bool = Field(
        description="True when every event's hash chains to the one before and matches the "
        "signed checkpoints."
    )
    events_checked: int = Field(description="How many events were checked.")
    first_invalid_seq: int | None = Field(
        description="The first seq that cannot be trusted (null when the chain is valid)."
    )
    reason: str | None = Field(default=None, description="Why the chain is invalid.")
    checkpoints_checked: int = Field(
        default=0, description="Signed checkpoints (outside the database) the chain matched."
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="Things an operator should look at that do not make the chain invalid "
        "(a malformed checkpoint line, no signed checkpoint found yet).",
    )
    malformed_checkpoint_lines: list[int] = Field(
        default_factory=list,
        description="Checkpoint-file lines (1-based) that are not readable checkpoints, e.g. a"
        " write torn by a full disk; skipped, and not a sign that the chain is invalid.",
    )
