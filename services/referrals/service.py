"""The referral use cases, in one import for the routers and the other services.

Each lives in the module of its one purpose: `creation` (propose), `access` (load what the
caller may see, read, audit the read), `listing` (filters and keyset orders), `transitions`
(every state change: `act`, driven by `states.TRANSITIONS` and `effects.EFFECTS`) and `closure`
(the live referrals of a case being closed; `services.closing` calls it). Their inputs and
results are in `messages`, the fixed values in `constants`, the checks of a new referral in
`validation`.
"""

from __future__ import annotations

from services.referrals.access import get_referral
from services.referrals.creation import create_referral
from services.referrals.listing import list_case_referrals, list_referrals
from services.referrals.messages import Created, NewReferral, ReferralPage, ReferralQuery
from services.referrals.transitions import REFERRAL_VERSIONS, act

__all__ = [
    "REFERRAL_VERSIONS",
    "Created",
    "NewReferral",
    "ReferralPage",
    "ReferralQuery",
    "act",
    "create_referral",
    "get_referral",
    "list_case_referrals",
    "list_referrals",
]
