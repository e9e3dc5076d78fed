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
    type: ActorType
    id: uuid.UUID | None = None
    role: Role | None = Field(default=None, description="A staff user's role.")
    scopes: list[str] | None = Field(default=None, description="An API client's scopes.")
    agency_id: uuid.UUID | None = None


class AuditEventOut(BaseModel):
    seq: int = Field(description="Position in the chain: 1, 2, 3 ... with no gaps.")
    at: datetime
    actor: AuditActor
    action: str = Field(description="Dotted: `auth.login`, `case.read`, `referral.approve`, ...")
    resource_type: str | None
    resource_id: str | None
    case_id: uuid.UUID | None = Field(description="The case the event concerns, if any.")
    outcome: AuditOutcome
    request_id: str | None
    client_address: str | None
    fields: list[str] = Field(description="Names of the fields touched (never their values).")
    detail: dict[str, Any] = Field(description="Non-sensitive context (status, counts, ids).")
    hash: str = Field(
        description="SHA-256 of this event's canonical content and the previous hash."
    )


class AuditEventList(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None


class AuditVerifyOut(BaseModel):
    valid: bool
    events_checked: int
    first_invalid_seq: int | None = Field(
        description="The first seq that cannot be trusted (null when the chain is valid)."
    )
    reason: str | None = Field(default=None, description="Why the chain is invalid.")
    checkpoints_checked: int = Field(
        default=0, description="Signed checkpoints (outside the database) the chain matched."
    )
    warnings: list[str] = Field(default_factory=list)
    malformed_checkpoint_lines: list[int] = Field(
        default_factory=list,
        description="Checkpoint-file lines (1-based) that are not readable checkpoints, e.g. a"
        " write torn by a full disk; skipped, and not a sign that the chain is invalid.",
    )
