"""Cancelling the live referrals of a case being closed, in the closing transaction."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.cases import Case
from models.referrals import Referral
from services import audit
from services.actions import Action
from services.cases.access import encrypt_for_case
from services.crypto import Keyring
from services.policy import Principal, require
from services.referrals.constants import CASE_CLOSED, LIVE_STATUSES
from services.referrals.states import transition_for
from services.referrals.transitions import compare_and_set
from services.referrals.views import REFERRALS_TABLE, KeyCache


def cancel_for_closed_case(
    session: Session, keyring: Keyring, principal: Principal, case_row: Case
) -> list[uuid.UUID]:
    """Cancel every live referral of a case being closed (reason `case_closed`), in the closing
    transaction: each is recorded like any cancel (by whom, when, audited), so the partner's
    access to the case fields ends with the commit. The caller has loaded `case_row` for
    update and checked that `principal` may close it. Returns the cancelled referrals' ids."""
    action = Action.REFERRAL_CANCEL
    require(principal, action)
    live = session.scalars(
        select(Referral)
        .where(
            Referral.case_id == case_row.id,
            Referral.status.in_([status.value for status in LIVE_STATUSES]),
        )
        .order_by(Referral.created_at, Referral.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    if not live:
        return []
    dek = KeyCache(session, keyring).for_case(case_row)
    now = utcnow()
    cancelled: list[uuid.UUID] = []
    for referral in live:
        transition = transition_for(referral.status, action)
        compare_and_set(
            session,
            referral,
            transition,
            {
                "cancelled_by": principal.id,
                "cancelled_at": now,
                "cancel_reason_encrypted": encrypt_for_case(
                    dek,
                    CASE_CLOSED,
                    table=REFERRALS_TABLE,
                    record_id=referral.id,
                    field="cancel_reason",
                ),
            },
            referral.version,
        )
        audit.record(
            session,
            principal,
            action,
            resource_type="referral",
            resource_id=referral.id,
            case_id=case_row.id,
            fields=["cancel_reason"],
            detail={
                "from": transition.from_status.value,
                "to": transition.to_status.value,
                "consent_withdrawn": False,
                "via": Action.CASE_CLOSE,
            },
        )
        cancelled.append(referral.id)
    return cancelled
