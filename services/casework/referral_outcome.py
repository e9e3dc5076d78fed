"""A partner completing a referral with an outcome: the referral moves to `completed` and the
case gains the service it delivered (`provided_by: partner`, the referral's service type and id,
the outcome sealed under the case's key), in the same transaction, so the case's record of
services never misses one and never holds one whose completion was rolled back.

This orchestrates the referral use case and a casework record; neither package needs the other.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from models.base import utcnow
from models.cases import Case
from models.referrals import Referral
from services.cases.access import case_data_key
from services.casework import common, delivered
from services.casework.enums import ProvidedBy
from services.config import Settings
from services.crypto import Keyring
from services.policy import Action, Principal
from services.referrals.transitions import act
from services.referrals.views import ReferralView


def complete_referral(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    referral_id: uuid.UUID,
    outcome: str,
    *,
    if_match: int | None = None,
) -> ReferralView:
    view = act(
        session,
        keyring,
        settings,
        principal,
        referral_id,
        Action.REFERRAL_COMPLETE,
        text=outcome,
        if_match=if_match,
    )
    # `act` loaded both through the referral's visibility rule and refused anything else.
    referral = session.get(Referral, referral_id)
    case = session.get(Case, referral.case_id) if referral is not None else None
    if referral is None or case is None:  # pragma: no cover - loaded by `act` just before
        return view
    row = delivered.new_service(
        case_data_key(session, keyring, case),
        case,
        service_type=referral.service_type,
        provided_on=(referral.completed_at or utcnow()).date(),
        provided_by=ProvidedBy.PARTNER,
        referral_id=referral.id,
        description=None,
        outcome=outcome,
        recorded_by_type=principal.kind,
        recorded_by=principal.id,
    )
    session.add(row)
    session.flush()
    common.record(
        session,
        principal,
        Action.SERVICE_CREATE,
        resource_type="service",
        resource_id=row.id,
        case_id=case.id,
        fields=["service_type", "provided_on", "provided_by", "referral_id", "outcome"],
        detail={"via": Action.REFERRAL_COMPLETE.value, "referral_id": str(referral.id)},
    )
    return view
