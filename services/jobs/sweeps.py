"""Sweeps: look over open work and report what needs a person's attention.

The overdue sweep logs counts per agency (never a case number or a name): a log-based alert
(or someone reading `haven jobs status`) sees at once that work is slipping, and the supervisors
find the cases themselves with `GET /cases?overdue=true` and `GET /referrals?overdue=true`.
Break-glass uses nobody has reviewed in time are counted too (`GET /break-glass?overdue=true`).
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import func, select

from models.base import utcnow
from models.cases import Case
from models.referrals import Referral
from services.cases.enums import CaseStatus
from services.oversight.break_glass import count_overdue
from services.referrals.enums import ReferralStatus
from services.runtime import Runtime

log = logging.getLogger("haven.jobs")


def overdue_sweep(runtime: Runtime) -> str:
    now = utcnow()
    with runtime.session_factory() as session:
        cases: dict[uuid.UUID, int] = {
            agency_id: count
            for agency_id, count in session.execute(
                select(Case.agency_id, func.count())
                .where(Case.status == CaseStatus.OPEN, Case.next_action_due_at < now)
                .group_by(Case.agency_id)
            )
        }
        referrals: dict[uuid.UUID, int] = {
            agency_id: count
            for agency_id, count in session.execute(
                select(Referral.from_agency_id, func.count())
                .where(Referral.status == ReferralStatus.SENT, Referral.respond_due_at < now)
                .group_by(Referral.from_agency_id)
            )
        }
        glass = count_overdue(session, runtime.settings)
    agencies = set(cases) | set(referrals) | set(glass)
    for agency_id in sorted(agencies, key=str):
        log.warning(
            "overdue work",
            extra={
                "agency_id": str(agency_id),
                "overdue_cases": cases.get(agency_id, 0),
                "overdue_referrals": referrals.get(agency_id, 0),
                "overdue_break_glass_reviews": glass.get(agency_id, 0),
            },
        )
    return (
        f"{sum(cases.values())} overdue case(s), {sum(referrals.values())} overdue referral(s), "
        f"{sum(glass.values())} overdue break-glass review(s) in {len(agencies)} agency(ies)"
    )
