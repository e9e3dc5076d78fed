"""Proposing a referral: a caseworker's request, awaiting a supervisor's approval."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from models.base import new_id, utcnow
from models.referrals import Referral
from services import audit
from services.actions import Action
from services.cases.access import encrypt_for_case, load_visible_case
from services.cases.enums import CaseStatus
from services.crypto import Keyring
from services.errors import Conflict
from services.kit import idempotency
from services.policy import Principal
from services.referrals.access import audit_read, load, view_of
from services.referrals.messages import Created, NewReferral
from services.referrals.states import Status
from services.referrals.validation import validate_new
from services.referrals.views import REFERRALS_TABLE, KeyCache


def create_referral(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    draft: NewReferral,
    *,
    idempotency_key: str | None = None,
) -> Created:
    """A caseworker proposes a referral of a case it owns; it awaits a supervisor's approval."""
    action = Action.REFERRAL_CREATE
    case_row = load_visible_case(session, principal, case_id, action)
    referral_id = new_id()
    claim = idempotency.claim(
        session,
        keyring,
        principal,
        idempotency_key,
        operation=f"referral.create:{case_id}",
        body=draft.canonical(),
        resource_type="referral",
        resource_id=referral_id,
        case_id=case_row.id,
    )
    if claim.replay is not None:
        referral, case_row = load(session, principal, claim.replay.resource_id, action)
        view = view_of(session, keyring, principal, referral, case_row)
        audit_read(session, principal, view, via="idempotent_replay")
        return Created(referral=view, created=False)
    if case_row.status != CaseStatus.OPEN:
        raise Conflict("Referrals can only be made from an open case.")
    validate_new(session, case_row, draft)

    keys = KeyCache(session, keyring)
    dek = keys.for_case(case_row)

    def seal(field: str, text: str) -> bytes:
        return encrypt_for_case(
            dek, text, table=REFERRALS_TABLE, record_id=referral_id, field=field
        )

    now = utcnow()
    referral = Referral(
        id=referral_id,
        case_id=case_row.id,
        from_agency_id=case_row.agency_id,
        to_agency_id=draft.to_agency_id,
        service_type=draft.service_type,
        urgency=draft.urgency,
        status=Status.PENDING_APPROVAL.value,
        version=1,
        shared_fields=list(draft.shared_fields),
        reason_encrypted=seal("reason", draft.reason),
        consent_given_by=draft.consent_given_by,
        consent_obtained_at=draft.consent_obtained_at,
        consent_note_encrypted=seal("consent_note", draft.consent_note)
        if draft.consent_note
        else None,
        created_by=principal.id,
        created_at=now,
        updated_at=now,
    )
    session.add(referral)
    session.flush()
    audit.record(
        session,
        principal,
        action,
        resource_type="referral",
        resource_id=referral.id,
        case_id=case_row.id,
        fields=["reason", "shared_fields", "consent"]
        + (["consent.note"] if draft.consent_note else []),
        detail={
            "to_agency_id": str(draft.to_agency_id),
            "service_type": draft.service_type,
            "urgency": draft.urgency,
            "consent_given_by": draft.consent_given_by,
            "shared_fields": sorted(draft.shared_fields),
        },
    )
    view = view_of(session, keyring, principal, referral, case_row, keys)
    audit_read(session, principal, view, via=action.value)
    return Created(referral=view, created=True)
