"""Request and response bodies for referrals.

A referral is served in one of two shapes, told apart by `view`:
- `staff`: the referring agency's staff who may see the case read it whole (reason, consent and
  its note, every decision and its reason, the partner's updates and outcome).
- `partner`: a receiving partner's API client sees the referral's routing facts, and of the case
  only the `shared_fields`, decrypted for this response, and only while the referral is live
  (`sent`, `accepted`, `in_progress`) and its case open. Afterwards: the status and its own
  updates, no case field. Closing a case cancels its live referrals (reason `case_closed`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from models.base import MAX_YEAR, MIN_YEAR, in_supported_range
from services.identity.enums import PrincipalKind
from services.referrals.enums import ConsentBasis, ReferralStatus, ServiceType, Urgency

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
FieldPath = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _supported_time(value: datetime) -> datetime:
    if not in_supported_range(value):
        raise ValueError(f"must lie between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


SupportedDatetime = Annotated[AwareDatetime, AfterValidator(_supported_time)]
"""An RFC 3339 time with its offset, in the years 1900 to 2100 (UTC and local)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsentIn(_Strict):
    """Who consented, when; `best_interest_override` needs a written justification in `note`."""

    given_by: ConsentBasis
    obtained_at: SupportedDatetime
    """When consent (or the child's assent) was obtained; not in the future."""
    note: Text | None = None


class ReferralCreate(_Strict):
    to_agency_id: uuid.UUID
    service_type: ServiceType
    urgency: Urgency
    reason: Text
    shared_fields: list[FieldPath] = Field(max_length=50)
    """Paths of the case body the partner will see, e.g. `child.given_name`, `location.district`."""
    consent: ConsentIn


class ReasonIn(_Strict):
    reason: Text


class CancelIn(_Strict):
    reason: Text
    """Free text, or exactly `consent_withdrawn` to record that consent was withdrawn."""


class NoteIn(_Strict):
    note: Text


class OutcomeIn(_Strict):
    outcome: Text


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ConsentOut(_Out):
    given_by: ConsentBasis
    obtained_at: datetime
    note: str | None = None
    """Consent note; for `best_interest_override`, the justification the supervisor reviews."""


class PartnerConsentOut(_Out):
    given_by: ConsentBasis
    obtained_at: datetime


class ReferralUpdateOut(_Out):
    id: uuid.UUID
    author_type: PrincipalKind
    author_id: uuid.UUID
    note: str
    created_at: datetime


class StaffReferral(_Out):
    """A referral as the referring agency's staff read it: whole."""

    view: Literal["staff"] = "staff"
    id: uuid.UUID
    case_id: uuid.UUID
    case_number: str
    status: ReferralStatus
    version: int
    service_type: ServiceType
    urgency: Urgency
    from_agency_id: uuid.UUID
    to_agency_id: uuid.UUID
    reason: str
    shared_fields: list[str]
    case: dict[str, Any]
    """The values the partner sees (or will see) while the referral is live."""
    consent: ConsentOut
    best_interest_override: bool
    """True when consent was overridden in the child's best interest: see `consent.note`."""
    allowed_actions: list[str]
    """The actions YOU may take now: legal from the current state, and allowed to your role
    (a caseworker may cancel, only a supervisor approves or rejects); none that the closed
    case refuses."""
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    respond_due_at: datetime | None
    overdue: bool
    """Sent, and not accepted or declined by `respond_due_at`."""
    rejected_by: uuid.UUID | None
    rejected_at: datetime | None
    rejection_reason: str | None
    responded_by: uuid.UUID | None
    responded_at: datetime | None
    decline_reason: str | None
    completed_by: uuid.UUID | None
    completed_at: datetime | None
    outcome: str | None
    cancelled_by: uuid.UUID | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    consent_withdrawn: bool
    consent_withdrawn_at: datetime | None
    consent_withdrawn_by: uuid.UUID | None
    """The staff user who recorded that consent was withdrawn."""
    updates: list[ReferralUpdateOut]


class PartnerReferral(_Out):
    """A referral as the receiving partner's client reads it: minimised."""

    view: Literal["partner"] = "partner"
    id: uuid.UUID
    status: ReferralStatus
    version: int
    service_type: ServiceType
    urgency: Urgency
    from_agency_id: uuid.UUID
    to_agency_id: uuid.UUID
    reason: str | None
    """Why the child is referred; only while the referral is live."""
    shared_fields: list[str]
    case: dict[str, Any] | None
    """Only the shared case fields, only while the referral is live; otherwise null."""
    consent: PartnerConsentOut
    allowed_actions: list[str]
    """The actions your client may take now (needs `referrals:respond`); none once the case
    is closed."""
    sent_at: datetime | None
    respond_due_at: datetime | None
    overdue: bool
    responded_at: datetime | None
    decline_reason: str | None
    """Your own reason, if you declined."""
    completed_at: datetime | None
    outcome: str | None
    """Your own outcome report, once completed."""
    cancelled_at: datetime | None
    consent_withdrawn: bool
    """The child or caregiver withdrew consent: stop the work and keep none of the shared data."""
    updated_at: datetime
    updates: list[ReferralUpdateOut]
    """Your agency's own progress updates."""


ReferralOut = Annotated[StaffReferral | PartnerReferral, Field(discriminator="view")]


class ReferralList(BaseModel):
    items: list[ReferralOut]
    next_cursor: str | None
