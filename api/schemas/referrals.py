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
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    MISSING,
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from api.schemas.cases import CaregiverOut
from models.base import MAX_YEAR, MIN_YEAR, in_supported_range
from services.cases.enums import RiskLevel, SeparationStatus, Sex
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


GIVEN_BY = (
    "Who consented: `caregiver`, `child` (the child's own consent or assent), or "
    "`best_interest_override` (no consent; a supervisor reviews the written justification in "
    "`note`)."
)
OBTAINED_AT = "When consent (or the child's assent) was obtained (RFC 3339 with offset)."
SERVICE_TYPE = "The service asked for: a code from `GET /api/v1/reference/services`."
URGENCY = (
    "`high`, `medium` or `low`: how soon the partner must accept or decline once it is sent "
    "(sets `respond_due_at`)."
)
STATUS = (
    "`pending_approval` (awaiting the referring supervisor), `sent` (awaiting the partner), "
    "`accepted`, `in_progress` (the partner posted an update), `completed`, or the ends "
    "`rejected` (by the supervisor), `declined` (by the partner) and `cancelled`."
)
VERSION = (
    '1 when created, +1 on every change; send it as `If-Match: "<version>"` to act only on '
    "the version you read."
)
SHARED_FIELDS = (
    "Paths of the case body the partner may see while the referral is live, e.g. "
    "`child.given_name`, `location.district`, `protection_concerns`."
)
NEXT_CURSOR = (
    "Pass it as `?cursor=` to get the next page; null on the last page. Opaque: do not parse it."
)


class ConsentIn(_Strict):
    """Who consented, when; `best_interest_override` needs a written justification in `note`."""

    given_by: ConsentBasis = Field(description=GIVEN_BY)
    obtained_at: SupportedDatetime = Field(description=OBTAINED_AT + " Not in the future.")
    note: Text | None = Field(
        default=None,
        description="Context for the consent; required for `best_interest_override` (the "
        "justification). Staff only: never shown to the partner.",
    )


class ReferralCreate(_Strict):
    to_agency_id: uuid.UUID = Field(
        description="The partner agency asked to provide the service (not your own)."
    )
    service_type: ServiceType = Field(description=SERVICE_TYPE)
    urgency: Urgency = Field(description=URGENCY)
    reason: Text = Field(
        description="Why the child is referred; the partner reads it while the referral is "
        "live. Keep it to what the partner needs."
    )
    shared_fields: list[FieldPath] = Field(
        max_length=50, description=SHARED_FIELDS + " Share the minimum; each path once."
    )
    consent: ConsentIn = Field(description="The consent the referral rests on.")


class ReasonIn(_Strict):
    reason: Text = Field(description="Why (free text, 1 to 4000 characters).")


class CancelIn(_Strict):
    reason: Text = Field(
        description="Why the referral is cancelled (free text), or exactly `consent_withdrawn` "
        "to record that the child or caregiver withdrew consent."
    )


class NoteIn(_Strict):
    note: Text = Field(
        description="The progress update (free text; the referring agency reads it)."
    )


class OutcomeIn(_Strict):
    outcome: Text = Field(
        description="What was provided and how it ended (free text); it is recorded as a "
        "service on the case."
    )


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ConsentOut(_Out):
    given_by: ConsentBasis = Field(description=GIVEN_BY)
    obtained_at: datetime = Field(description=OBTAINED_AT)
    note: str | None = Field(
        default=None,
        description="Consent note; for `best_interest_override`, the justification the "
        "supervisor reviews.",
    )


class PartnerConsentOut(_Out):
    given_by: ConsentBasis = Field(description=GIVEN_BY)
    obtained_at: datetime = Field(description=OBTAINED_AT)


class SharedCaseFields(BaseModel):
    """The case fields a referral shares: exactly one key per path in `shared_fields` (a path
    not shared is absent, not null), named by the path itself (`child.given_name`). Each key
    is typed here so that generated clients get typed attributes; a shared field the case
    leaves empty is null."""

    model_config = ConfigDict(extra="forbid")

    # `MISSING`, not None, marks a path that is not shared: it is left out of the answer (as
    # before the fields were typed), while a shared field the case leaves empty is null.
    child_given_name: str | MISSING | None = Field(
        default=MISSING, alias="child.given_name", description="The child's given name."
    )
    child_family_name: str | MISSING | None = Field(
        default=MISSING, alias="child.family_name", description="The child's family name."
    )
    child_sex: Sex | MISSING | None = Field(
        default=MISSING, alias="child.sex", description="`female`, `male`, `other` or `unknown`."
    )
    child_date_of_birth: date | MISSING | None = Field(
        default=MISSING,
        alias="child.date_of_birth",
        description="`YYYY-MM-DD`; null when unknown.",
    )
    child_estimated_age: int | MISSING | None = Field(
        default=MISSING,
        alias="child.estimated_age",
        description="Years, when the date of birth is unknown; otherwise null.",
    )
    child_other_names: list[str] | MISSING | None = Field(
        default=MISSING,
        alias="child.other_names",
        description="Other spellings and scripts of the child's name.",
    )
    child_father_name: str | MISSING | None = Field(
        default=MISSING, alias="child.father_name", description="The father's given name."
    )
    child_grandfather_name: str | MISSING | None = Field(
        default=MISSING,
        alias="child.grandfather_name",
        description="The paternal grandfather's given name.",
    )
    child_mother_name: str | MISSING | None = Field(
        default=MISSING, alias="child.mother_name", description="The mother's name."
    )
    location_governorate: str | MISSING | None = Field(
        default=MISSING,
        alias="location.governorate",
        description="The governorate where the child lives now.",
    )
    location_district: str | MISSING | None = Field(
        default=MISSING, alias="location.district", description="The district within it."
    )
    location_address: str | MISSING | None = Field(
        default=MISSING,
        alias="location.address",
        description="Where to find the child (camp, block, street).",
    )
    caregivers: list[CaregiverOut] | MISSING | None = Field(
        default=MISSING, description="The adults caring for the child now."
    )
    separation_status: SeparationStatus | MISSING | None = Field(
        default=MISSING,
        description="`unaccompanied`, `separated`, `with_caregiver` or `unknown`.",
    )
    protection_concerns: list[str] | MISSING | None = Field(
        default=MISSING,
        description="Protection concern codes (labels: `GET /api/v1/reference/concerns`).",
    )
    risk_level: RiskLevel | MISSING | None = Field(
        default=MISSING, description="`high`, `medium` or `low`."
    )
    narrative: str | MISSING | None = Field(
        default=MISSING, description="The caseworker's account of the child's situation."
    )


class ReferralUpdateOut(_Out):
    id: uuid.UUID = Field(description="The update's id.")
    author_type: PrincipalKind = Field(
        description="`client` (the partner's API client) or `user` (staff)."
    )
    author_id: uuid.UUID = Field(description="The API client or user who posted it.")
    note: str = Field(description="The progress update, as posted.")
    created_at: datetime = Field(description="When it was posted (UTC).")


class StaffReferral(_Out):
    """A referral as the referring agency's staff read it: whole."""

    view: Literal["staff"] = Field(
        default="staff", description="`staff`: the whole referral, as its own agency reads it."
    )
    id: uuid.UUID = Field(description="The referral's id.")
    case_id: uuid.UUID = Field(description="The case referred.")
    case_number: str = Field(description="The case's number, e.g. `HVN-2026-000123`.")
    status: ReferralStatus = Field(description=STATUS)
    version: int = Field(description=VERSION)
    service_type: ServiceType = Field(description=SERVICE_TYPE)
    urgency: Urgency = Field(description=URGENCY)
    from_agency_id: uuid.UUID = Field(description="The referring agency (the case's agency).")
    to_agency_id: uuid.UUID = Field(description="The partner agency asked for the service.")
    reason: str = Field(description="Why the child is referred.")
    shared_fields: list[str] = Field(description=SHARED_FIELDS)
    case: SharedCaseFields = Field(
        description="The values the partner sees (or will see) while the referral is live: "
        "one key per path in `shared_fields`."
    )
    consent: ConsentOut = Field(description="The consent the referral rests on.")
    best_interest_override: bool = Field(
        description="True when consent was overridden in the child's best interest: see "
        "`consent.note`."
    )
    allowed_actions: list[str] = Field(
        description="The actions YOU may take now (`referral.approve`, `referral.reject`, "
        "`referral.cancel`): legal "
        "from the current state, and allowed to your role (a caseworker may cancel, only a "
        "supervisor approves or rejects); none that the closed case refuses."
    )
    created_by: uuid.UUID = Field(description="The staff user who proposed the referral.")
    created_at: datetime = Field(description="When it was proposed (UTC).")
    updated_at: datetime = Field(description="When it last changed (UTC).")
    approved_by: uuid.UUID | None = Field(description="The supervisor who approved (sent) it.")
    approved_at: datetime | None = Field(description="When it was approved and sent.")
    respond_due_at: datetime | None = Field(
        description="When the partner must have accepted or declined (from the urgency); null "
        "until sent."
    )
    overdue: bool = Field(description="Sent, and not accepted or declined by `respond_due_at`.")
    rejected_by: uuid.UUID | None = Field(description="The supervisor who rejected it.")
    rejected_at: datetime | None = Field(description="When it was rejected.")
    rejection_reason: str | None = Field(description="The supervisor's reason for rejecting.")
    responded_by: uuid.UUID | None = Field(
        description="The partner's API client that accepted or declined it."
    )
    responded_at: datetime | None = Field(description="When the partner accepted or declined.")
    decline_reason: str | None = Field(description="The partner's reason for declining.")
    completed_by: uuid.UUID | None = Field(
        description="The partner's API client that completed it."
    )
    completed_at: datetime | None = Field(description="When the partner completed it.")
    outcome: str | None = Field(description="The partner's outcome report, once completed.")
    cancelled_by: uuid.UUID | None = Field(description="The staff user who cancelled it.")
    cancelled_at: datetime | None = Field(description="When it was cancelled.")
    cancel_reason: str | None = Field(
        description="Why it was cancelled (`case_closed` when closing the case cancelled it)."
    )
    consent_withdrawn: bool = Field(
        description="True when it was cancelled because consent was withdrawn."
    )
    consent_withdrawn_at: datetime | None = Field(
        description="When the withdrawal of consent was recorded."
    )
    consent_withdrawn_by: uuid.UUID | None = Field(
        description="The staff user who recorded that consent was withdrawn."
    )
    updates: list[ReferralUpdateOut] = Field(
        description="The partner's progress updates, oldest first."
    )


class PartnerReferral(_Out):
    """A referral as the receiving partner's client reads it: minimised."""

    view: Literal["partner"] = Field(
        default="partner",
        description="`partner`: the minimised referral a receiving partner's client reads.",
    )
    id: uuid.UUID = Field(description="The referral's id.")
    status: ReferralStatus = Field(description=STATUS)
    version: int = Field(description=VERSION)
    service_type: ServiceType = Field(description=SERVICE_TYPE)
    urgency: Urgency = Field(description=URGENCY)
    from_agency_id: uuid.UUID = Field(description="The referring agency.")
    to_agency_id: uuid.UUID = Field(description="Your agency.")
    reason: str | None = Field(
        description="Why the child is referred; only while the referral is live, otherwise null."
    )
    shared_fields: list[str] = Field(
        description="The case-body paths the referring agency shares with you."
    )
    case: SharedCaseFields | None = Field(
        description="Only the shared case fields (one key per path in `shared_fields`), only "
        "while the referral is live (`sent`, `accepted`, `in_progress`) and its case open; "
        "otherwise null."
    )
    consent: PartnerConsentOut = Field(description="Who consented, and when.")
    allowed_actions: list[str] = Field(
        description="The actions your client may take now (`referral.accept`, "
        "`referral.decline`, `referral.update`, `referral.complete`; needs "
        "`referrals:respond`); none once the case is closed."
    )
    sent_at: datetime | None = Field(description="When the referring agency sent it to you.")
    respond_due_at: datetime | None = Field(
        description="Accept or decline by then (from the urgency)."
    )
    overdue: bool = Field(description="Sent, and not accepted or declined by `respond_due_at`.")
    responded_at: datetime | None = Field(description="When you accepted or declined.")
    decline_reason: str | None = Field(description="Your own reason, if you declined.")
    completed_at: datetime | None = Field(description="When you completed it.")
    outcome: str | None = Field(description="Your own outcome report, once completed.")
    cancelled_at: datetime | None = Field(
        description="When the referring agency cancelled it: stop the work."
    )
    consent_withdrawn: bool = Field(
        description="The child or caregiver withdrew consent: stop the work and keep none of "
        "the shared data."
    )
    updated_at: datetime = Field(description="When it last changed (UTC).")
    updates: list[ReferralUpdateOut] = Field(
        description="Your agency's own progress updates, oldest first."
    )


ReferralOut = Annotated[StaffReferral | PartnerReferral, Field(discriminator="view")]


class ReferralList(BaseModel):
    items: list[ReferralOut] = Field(
        description="This page's referrals, each in the shape your access gives (`view`)."
    )
    next_cursor: str | None = Field(description=NEXT_CURSOR)
