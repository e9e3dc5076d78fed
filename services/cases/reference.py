"""Reference data: protection-concern codes (every staff role; clients with `referrals:read`)."""

from __future__ import annotations

from services.actions import Action
from services.cases.concerns import CONCERNS, Concern
from services.policy import Principal, require


def list_concerns(principal: Principal) -> tuple[Concern, ...]:
    require(principal, Action.REFERENCE_READ)
    return CONCERNS
