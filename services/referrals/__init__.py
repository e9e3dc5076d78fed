"""Referral workflow: consent, supervisor approval, the minimised partner view, feedback.

The state machine lives in `states.py` (one table), the two views of a referral in `views.py`,
the use cases in `service.py`.
"""

from services.referrals.service import (
    CONSENT_WITHDRAWN,
    Created,
    NewReferral,
    ReferralPage,
    ReferralQuery,
    act,
    create_referral,
    get_referral,
    list_case_referrals,
    list_referrals,
    response_hours,
)
from services.referrals.states import TRANSITIONS, Status, Transition, transition_for
from services.referrals.views import (
    PartnerReferralView,
    ReferralView,
    StaffReferralView,
    is_overdue,
)

__all__ = [
    "CONSENT_WITHDRAWN",
    "TRANSITIONS",
    "Created",
    "NewReferral",
    "PartnerReferralView",
    "ReferralPage",
    "ReferralQuery",
    "ReferralView",
    "StaffReferralView",
    "Status",
    "Transition",
    "act",
    "create_referral",
    "get_referral",
    "is_overdue",
    "list_case_referrals",
    "list_referrals",
    "response_hours",
    "transition_for",
]
