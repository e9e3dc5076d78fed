"""Restricting a case: who may change the flag, and what is recorded when it changes.

A restricted case is readable only by its owner and the users on its access list (the rule
itself is `policy.case_filter`). The flag is set at intake or by `PATCH` by the owner or a
supervisor; a supervisor who restricts a case it does not own goes on the access list, or it
would lock itself out of the case it just decided to protect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from models.access import CaseAccess
from models.cases import Case
from services import audit
from services.actions import Action
from services.errors import Forbidden
from services.policy import Principal, Role


def check_may_restrict(principal: Principal, case: Case) -> None:
    """Only the owner or a supervisor changes the flag (a listed colleague reads, no more)."""
    if principal.role == Role.SUPERVISOR or case.owner_id == principal.id:
        return
    raise Forbidden(
        "Only the case's owner or a supervisor restricts a case or lifts the restriction.",
        action=Action.CASE_RESTRICT,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
    )


def keep_restrictor_in(session: Session, principal: Principal, case: Case) -> None:
    """Put a supervisor who restricts a case it does not own on the case's access list."""
    if (
        case.owner_id == principal.id
        or session.get(CaseAccess, (case.id, principal.id)) is not None
    ):
        return
    session.add(CaseAccess(case_id=case.id, user_id=principal.id, added_by=principal.id))
    session.flush()
    audit.record(
        session,
        principal,
        Action.CASE_ACCESS_GRANT,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        detail={"user_id": str(principal.id), "on_restricting": True},
    )


def record_restriction(
    session: Session, principal: Principal, case: Case, document: Mapping[str, Any]
) -> None:
    """One `case.restrict` event per change of the flag; the reason itself stays encrypted with
    the case (the event says only whether one was given)."""
    audit.record(
        session,
        principal,
        Action.CASE_RESTRICT,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        detail={
            "restricted": case.restricted,
            "reason_given": bool(document.get("restriction_reason")),
        },
    )
