"""Closing a case: a use case of two packages, so it lives above both.

The case package records the closure (`cases.workflow`), the referral package cancels the case's
live referrals (`referrals.closure`), and the referral package builds on the case package (a
referral is of a case). Were the case package to call the referrals, the two would import each
other; this module orchestrates them instead, in the one transaction of the request, so no
partner keeps reading or working on a case once its closure commits.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.cases.views import CaseView
from services.cases.workflow import begin_closure, finish_closure
from services.config import Settings
from services.crypto import Keyring
from services.policy import Principal
from services.referrals.closure import cancel_for_closed_case


def close_case(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    reason: str,
    note: str | None = None,
    if_match: str | None = None,
) -> CaseView:
    """Close a case in the closure stage, recording why (`reason` from the closure reasons;
    `other` needs a `note`), and cancel its live referrals (reason `case_closed`, each audited
    as a `referral.cancel` by this supervisor)."""
    case, closure_id = begin_closure(
        session, keyring, principal, case_id, reason=reason, note=note, if_match=if_match
    )
    cancelled = cancel_for_closed_case(session, keyring, principal, case)
    return finish_closure(
        session,
        keyring,
        settings,
        principal,
        case,
        closure_id,
        note=note,
        referrals_cancelled=cancelled,
    )
