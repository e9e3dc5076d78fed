"""Reference data: protection concerns and closure reasons (every staff role; clients with
`referrals:read`), each with English, Arabic and Sorani Kurdish labels."""

from __future__ import annotations

from services.actions import Action
from services.cases.closure import CLOSURE_REASON_LABELS
from services.cases.concerns import CONCERNS, Concern
from services.cases.enums import ClosureReason
from services.cases.labels import Labels
from services.policy import Principal, require


def list_concerns(principal: Principal) -> tuple[Concern, ...]:
    require(principal, Action.REFERENCE_READ)
    return CONCERNS


def list_closure_reasons(principal: Principal) -> list[tuple[ClosureReason, Labels]]:
    require(principal, Action.REFERENCE_READ)
    return [(reason, CLOSURE_REASON_LABELS[reason]) for reason in ClosureReason]
