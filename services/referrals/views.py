"""What a caller gets to see of a referral: the whole (staff) or the minimised partner view.

The decision which view a principal gets, and which case fields a partner may see, is
`services.policy`'s (`partner_sees_case_fields`); this module only builds the two shapes and
decrypts exactly what the chosen shape holds, nothing more.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.cases import Case
from models.referrals import Referral, ReferralUpdate
from services.actions import Action
from services.cases.access import case_data_key, decrypt_for_case, read_case_fields
from services.cases.enums import CaseStatus
from services.crypto import Keyring
from services.policy import Principal, allowed, partner_sees_case_fields
from services.referrals.enums import ConsentBasis
from services.referrals.states import TRANSITIONS, Status

REFERRALS_TABLE = "referrals"
UPDATES_TABLE = "referral_updates"


@dataclass(frozen=True)
class ConsentView:
    given_by: str
    obtained_at: datetime
    note: str | None = None


@dataclass(frozen=True)
class UpdateView:
    id: uuid.UUID
    author_type: str
    author_id: uuid.UUID
    note: str
    created_at: datetime


@dataclass(frozen=True)
class StaffReferralView:
    id: uuid.UUID
    case_id: uuid.UUID
    case_number: str
    status: str
    version: int
    service_type: str
    urgency: str
    from_agency_id: uuid.UUID
    to_agency_id: uuid.UUID
    reason: str
    shared_fields: list[str]
    case: dict[str, Any]
    consent: ConsentView
    best_interest_override: bool
    allowed_actions: list[str]
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    respond_due_at: datetime | None
    overdue: bool
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
    updates: list[UpdateView]
    view: Literal["staff"] = "staff"
    fields_served: list[str] = field(default_factory=list)
    """Names of the decrypted fields in this view (for the audit row), never values."""


@dataclass(frozen=True)
class PartnerReferralView:
    id: uuid.UUID
    case_id: uuid.UUID
    """Not served to the partner (the schema has no such field); kept for the audit row."""
    status: str
    version: int
    service_type: str
    urgency: str
    from_agency_id: uuid.UUID
    to_agency_id: uuid.UUID
    reason: str | None
    shared_fields: list[str]
    case: dict[str, Any] | None
    consent: ConsentView
    allowed_actions: list[str]
    sent_at: datetime | None
    respond_due_at: datetime | None
    overdue: bool
    responded_at: datetime | None
    decline_reason: str | None
    completed_at: datetime | None
    outcome: str | None
    cancelled_at: datetime | None
    consent_withdrawn: bool
    updated_at: datetime
    updates: list[UpdateView]
    view: Literal["partner"] = "partner"
    fields_served: list[str] = field(default_factory=list)


ReferralView = StaffReferralView | PartnerReferralView


def is_overdue(referral: Referral, now: datetime | None = None) -> bool:
    """Sent, and neither accepted nor declined by its `respond_due_at`."""
    return (
        referral.status == Status.SENT
        and referral.respond_due_at is not None
        and referral.respond_due_at < (now or utcnow())
    )


def actions_for(principal: Principal, referral: Referral, case: Case) -> list[str]:
    """The moves THIS caller may make on this referral now: legal from its state (the table),
    on the caller's side of it, allowed to the caller's role or scopes (`policy.allowed`), and
    not refused for a closed case (approving, or any partner move). The view is only built
    for a caller who may see the referral, so visibility is already settled."""
    side = "receiving" if principal.is_client else "referring"
    case_open = case.status == CaseStatus.OPEN
    return sorted(
        t.action.value
        for t in TRANSITIONS
        if t.from_status == Status(referral.status)
        and t.side == side
        and allowed(principal, t.action)
        and (case_open or (t.side == "referring" and t.action != Action.REFERRAL_APPROVE))
    )


class KeyCache:
    """The data key of each case, unwrapped at most once per request."""

    def __init__(self, session: Session, keyring: Keyring) -> None:
        self.session = session
        self.keyring = keyring
        self._keys: dict[uuid.UUID, bytes] = {}

    def for_case(self, case: Case) -> bytes:
        if case.id not in self._keys:
            self._keys[case.id] = case_data_key(self.session, self.keyring, case)
        return self._keys[case.id]


def _text(dek: bytes, referral: Referral, name: str, blob: bytes | None) -> str | None:
    if blob is None:
        return None
    return decrypt_for_case(dek, blob, table=REFERRALS_TABLE, record_id=referral.id, field=name)


def load_updates(
    session: Session, referral_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[ReferralUpdate]]:
    ids = list(referral_ids)
    found: dict[uuid.UUID, list[ReferralUpdate]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.scalars(
        select(ReferralUpdate)
        .where(ReferralUpdate.referral_id.in_(ids))
        .order_by(ReferralUpdate.created_at, ReferralUpdate.id)
    )
    for row in rows:
        found[row.referral_id].append(row)
    return found


def _update_views(dek: bytes, updates: Iterable[ReferralUpdate]) -> list[UpdateView]:
    return [
        UpdateView(
            id=u.id,
            author_type=u.author_type,
            author_id=u.author_id,
            note=decrypt_for_case(
                dek, u.note_encrypted, table=UPDATES_TABLE, record_id=u.id, field="note"
            ),
            created_at=u.created_at,
        )
        for u in updates
    ]


def build_view(
    session: Session,
    keys: KeyCache,
    principal: Principal,
    referral: Referral,
    case: Case,
    updates: list[ReferralUpdate],
) -> ReferralView:
    """The staff view for staff, the minimised view for a partner client."""
    if principal.is_client:
        return _partner_view(session, keys, principal, referral, case, updates)
    return _staff_view(session, keys, principal, referral, case, updates)


def _staff_view(
    session: Session,
    keys: KeyCache,
    principal: Principal,
    referral: Referral,
    case: Case,
    updates: list[ReferralUpdate],
) -> StaffReferralView:
    dek = keys.for_case(case)
    r = referral
    texts = {
        "reason": _text(dek, r, "reason", r.reason_encrypted),
        "consent.note": _text(dek, r, "consent_note", r.consent_note_encrypted),
        "rejection_reason": _text(dek, r, "rejection_reason", r.rejection_reason_encrypted),
        "decline_reason": _text(dek, r, "decline_reason", r.decline_reason_encrypted),
        "outcome": _text(dek, r, "outcome", r.outcome_encrypted),
        "cancel_reason": _text(dek, r, "cancel_reason", r.cancel_reason_encrypted),
    }
    shared = list(r.shared_fields)
    values = read_case_fields(session, keys.keyring, case, shared) if shared else {}
    served = [name for name, value in texts.items() if value is not None]
    served += [f"case.{path}" for path in shared]
    if updates:
        served.append("updates.note")
    return StaffReferralView(
        id=r.id,
        case_id=r.case_id,
        case_number=case.case_number,
        status=r.status,
        version=r.version,
        service_type=r.service_type,
        urgency=r.urgency,
        from_agency_id=r.from_agency_id,
        to_agency_id=r.to_agency_id,
        reason=texts["reason"] or "",
        shared_fields=shared,
        case=values,
        consent=ConsentView(
            given_by=r.consent_given_by,
            obtained_at=r.consent_obtained_at,
            note=texts["consent.note"],
        ),
        best_interest_override=r.consent_given_by == ConsentBasis.BEST_INTEREST_OVERRIDE,
        allowed_actions=actions_for(principal, r, case),
        created_by=r.created_by,
        created_at=r.created_at,
        updated_at=r.updated_at,
        approved_by=r.approved_by,
        approved_at=r.approved_at,
        respond_due_at=r.respond_due_at,
        overdue=is_overdue(r),
        rejected_by=r.rejected_by,
        rejected_at=r.rejected_at,
        rejection_reason=texts["rejection_reason"],
        responded_by=r.responded_by,
        responded_at=r.responded_at,
        decline_reason=texts["decline_reason"],
        completed_by=r.completed_by,
        completed_at=r.completed_at,
        outcome=texts["outcome"],
        cancelled_by=r.cancelled_by,
        cancelled_at=r.cancelled_at,
        cancel_reason=texts["cancel_reason"],
        consent_withdrawn=r.consent_withdrawn_at is not None,
        consent_withdrawn_at=r.consent_withdrawn_at,
        consent_withdrawn_by=r.consent_withdrawn_by,
        updates=_update_views(dek, updates),
        fields_served=sorted(served),
    )


def _partner_view(
    session: Session,
    keys: KeyCache,
    principal: Principal,
    referral: Referral,
    case: Case,
    updates: list[ReferralUpdate],
) -> PartnerReferralView:
    r = referral
    live = partner_sees_case_fields(r.status, case.status)
    own_updates = [u for u in updates if u.author_agency_id == principal.agency_id]
    needs_key = live or own_updates or r.decline_reason_encrypted or r.outcome_encrypted
    dek = keys.for_case(case) if needs_key else b""
    reason: str | None = None
    values: dict[str, Any] | None = None
    served: list[str] = []
    if live:
        reason = _text(dek, r, "reason", r.reason_encrypted)
        shared = list(r.shared_fields)
        values = read_case_fields(session, keys.keyring, case, shared) if shared else {}
        served = ["reason", *(f"case.{path}" for path in shared)]
    decline_reason = _text(dek, r, "decline_reason", r.decline_reason_encrypted)
    outcome = _text(dek, r, "outcome", r.outcome_encrypted)
    served += [n for n, v in (("decline_reason", decline_reason), ("outcome", outcome)) if v]
    if own_updates:
        served.append("updates.note")
    return PartnerReferralView(
        id=r.id,
        case_id=r.case_id,
        status=r.status,
        version=r.version,
        service_type=r.service_type,
        urgency=r.urgency,
        from_agency_id=r.from_agency_id,
        to_agency_id=r.to_agency_id,
        reason=reason,
        shared_fields=list(r.shared_fields),
        case=values,
        consent=ConsentView(given_by=r.consent_given_by, obtained_at=r.consent_obtained_at),
        allowed_actions=actions_for(principal, r, case),
        sent_at=r.approved_at,
        respond_due_at=r.respond_due_at,
        overdue=is_overdue(r),
        responded_at=r.responded_at,
        decline_reason=decline_reason,
        completed_at=r.completed_at,
        outcome=outcome,
        cancelled_at=r.cancelled_at,
        consent_withdrawn=r.consent_withdrawn_at is not None,
        updated_at=r.updated_at,
        updates=_update_views(dek, own_updates),
        fields_served=sorted(served),
    )
