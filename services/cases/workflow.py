"""Workflow actions: stage moves, close and reopen (supervisor), assignment (supervisor).

Stage moves pass the gates of `stages.GATES` (a 409 naming what is `missing`) and are kept as
`case_stage_events` (the timeline's stage entries); closing records why (`case_closures`, the
reason and note encrypted under the case's key).

Closing a case also cancels its live referrals (reason `case_closed`) in the same transaction,
so no partner keeps reading or working on a closed case; reopening does not revive them. That
use case spans the case and referral packages, so it lives above both, in `services.closing`,
which calls `begin_closure` and `finish_closure` here around the cancellation.

Each takes an optional `If-Match`; each bumps `version`, reschedules `next_action_due_at` where
the stage or status changes, writes its audit event and returns the updated case.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.base import new_id, utcnow
from models.cases import Case
from models.casework import CasePlan, Closure, StageEvent
from models.identity import User
from services import audit
from services.actions import Action
from services.cases.access import case_data_key, load_visible_case, require_on_case
from services.cases.closure import NOTE_REQUIRED
from services.cases.concurrency import CASE_VERSIONS
from services.cases.enums import CaseStatus, ClosureReason, Stage
from services.cases.loading import view_of
from services.cases.records import seal_record
from services.cases.schedule import reschedule
from services.cases.stages import REOPEN_STAGE, STAGES, CaseFacts, can_move, missing_for
from services.cases.views import CaseView
from services.config import Settings
from services.crypto import Keyring
from services.errors import Conflict, FieldProblem, InvalidInput, NotFound, StageGateClosed
from services.identity.enums import Role
from services.policy import Principal


def _load(
    session: Session,
    principal: Principal,
    case_id: uuid.UUID,
    action: Action,
    if_match: str | None,
) -> Case:
    require_on_case(principal, action, case_id)
    expected = CASE_VERSIONS.parse_if_match(if_match, required=False)
    case = load_visible_case(session, principal, case_id, action, for_update=True)
    CASE_VERSIONS.check(case.version, expected)
    return case


def _finish(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case: Case,
    action: Action,
    detail: dict[str, object] | None = None,
    fields: tuple[str, ...] = (),
) -> CaseView:
    case.updated_at = utcnow()
    CASE_VERSIONS.flush(session)
    audit.record(
        session,
        principal,
        action,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        fields=fields,
        detail=detail,
    )
    return view_of(session, keyring, case)


def move_stage(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    case_id: uuid.UUID,
    to: str,
    *,
    if_match: str | None = None,
) -> CaseView:
    """One step along the stage machine; anything else is a 409 and changes nothing."""
    case = _load(session, principal, case_id, Action.CASE_STAGE, if_match)
    if to not in STAGES:
        raise InvalidInput.field(("body", "to"), "Unknown stage.")
    if case.status != CaseStatus.OPEN:
        raise Conflict("The case is closed; a supervisor may reopen it.")
    if not can_move(case.stage, to):
        raise Conflict(f"A case cannot move from {case.stage} to {to}.")
    plan = session.get(CasePlan, case.id)
    facts = CaseFacts(
        assessed=case.assessed_at is not None, plan_status=plan.status if plan else None
    )
    missing = missing_for(case.stage, to, facts)
    if missing:
        raise StageGateClosed(
            f"The case cannot move from {case.stage} to {to} yet: it needs "
            f"{', '.join(missing)} first.",
            missing,
        )
    now = utcnow()
    previous = case.stage
    _record_stage(session, principal, case, previous, to, now)
    case.stage = to
    case.stage_changed_at = now
    case.closure_requested_at = now if to == Stage.CLOSURE else None
    reschedule(settings, case)
    return _finish(
        session,
        keyring,
        principal,
        case,
        Action.CASE_STAGE,
        {"from": previous, "to": to},
        ("stage",),
    )


def _record_stage(
    session: Session,
    principal: Principal,
    case: Case,
    previous: str,
    to: str,
    at: datetime,
) -> None:
    session.add(
        StageEvent(case_id=case.id, from_stage=previous, to_stage=to, actor_id=principal.id, at=at)
    )


MAX_CLOSURE_NOTE_CHARS = 2_000
CLOSURES_TABLE = "case_closures"


def _closure_reason(reason: str, note: str | None) -> ClosureReason:
    problems: list[FieldProblem] = []
    try:
        code = ClosureReason(reason)
    except ValueError:
        problems.append(
            FieldProblem(
                ("body", "reason"), "Unknown reason; see GET /api/v1/reference/closure-reasons."
            )
        )
        code = ClosureReason.OTHER
    if note is not None and (not note.strip() or len(note) > MAX_CLOSURE_NOTE_CHARS):
        problems.append(
            FieldProblem(("body", "note"), f"Must be 1 to {MAX_CLOSURE_NOTE_CHARS} characters.")
        )
    elif note is None and code in NOTE_REQUIRED and not problems:
        problems.append(FieldProblem(("body", "note"), f"A note is required for `{code}`."))
    if problems:
        raise InvalidInput(problems)
    return code


def begin_closure(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    reason: str,
    note: str | None = None,
    if_match: str | None = None,
) -> tuple[Case, uuid.UUID]:
    """First half of closing a case in the closure stage: check, and record why (`reason` from
    the closure reasons; `other` needs a `note`). Returns the case, loaded for update, and the
    closure's id. Only `services.closing.close_case` calls it: it cancels the case's referrals
    between this and `finish_closure`."""
    case = _load(session, principal, case_id, Action.CASE_CLOSE, if_match)
    code = _closure_reason(reason, note)
    if case.status != CaseStatus.OPEN:
        raise Conflict("The case is already closed.")
    if case.stage != Stage.CLOSURE:
        raise Conflict("Only a case in the closure stage can be closed.")
    closure_id = new_id()
    session.add(
        Closure(
            id=closure_id,
            case_id=case.id,
            closed_by=principal.id,
            closed_at=utcnow(),
            content_encrypted=seal_record(
                case_data_key(session, keyring, case),
                {"reason": code.value, "note": note},
                table=CLOSURES_TABLE,
                record_id=closure_id,
                case_id=case.id,
                kind="closure",
            ),
        )
    )
    return case, closure_id


def finish_closure(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    case: Case,
    closure_id: uuid.UUID,
    *,
    note: str | None,
    referrals_cancelled: list[uuid.UUID],
) -> CaseView:
    """Second half: the case is closed, rescheduled and audited (naming the referrals the
    closure cancelled)."""
    case.status = CaseStatus.CLOSED
    case.closed_at = utcnow()
    reschedule(settings, case)
    return _finish(
        session,
        keyring,
        principal,
        case,
        Action.CASE_CLOSE,
        {
            "referrals_cancelled": [str(referral_id) for referral_id in referrals_cancelled],
            "closure_id": str(closure_id),
        },
        ("status", "closure.reason", *(("closure.note",) if note is not None else ())),
    )


def reopen_case(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    if_match: str | None = None,
) -> CaseView:
    """Reopen a closed case; it resumes at `follow_up` (re-plan or close again from there)."""
    case = _load(session, principal, case_id, Action.CASE_REOPEN, if_match)
    if case.status != CaseStatus.CLOSED:
        raise Conflict("Only a closed case can be reopened.")
    now = utcnow()
    _record_stage(session, principal, case, case.stage, REOPEN_STAGE, now)
    case.status = CaseStatus.OPEN
    case.stage = REOPEN_STAGE
    case.stage_changed_at = now
    case.closure_requested_at = None
    case.closed_at = None
    reschedule(settings, case)
    return _finish(
        session, keyring, principal, case, Action.CASE_REOPEN, fields=("status", "stage")
    )


def assign_case(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    if_match: str | None = None,
) -> CaseView:
    """Make an active caseworker of the case's agency its owner (another agency's user: 404)."""
    case = _load(session, principal, case_id, Action.CASE_ASSIGN, if_match)
    target = session.execute(
        select(User).where(User.id == user_id, User.agency_id == case.agency_id)
    ).scalar_one_or_none()
    if target is None:
        raise NotFound(
            "No user with that id in this agency.",
            action=Action.CASE_ASSIGN,
            resource_type="user",
            resource_id=user_id,
            case_id=case.id,
        )
    if not target.is_active or target.role != Role.CASEWORKER.value:
        raise InvalidInput.field(
            ("body", "user_id"), "Cases can only be assigned to an active caseworker."
        )
    previous = case.owner_id
    if previous == target.id:
        audit.record(
            session,
            principal,
            Action.CASE_ASSIGN,
            resource_type="case",
            resource_id=case.id,
            case_id=case.id,
            detail={"unchanged": True, "owner_id": str(target.id)},
        )
        return view_of(session, keyring, case)
    case.owner_id = target.id
    return _finish(
        session,
        keyring,
        principal,
        case,
        Action.CASE_ASSIGN,
        {"from_owner_id": str(previous), "to_owner_id": str(target.id)},
        ("owner_id",),
    )
