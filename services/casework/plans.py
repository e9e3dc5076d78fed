"""The case plan: `PUT /cases/{id}/plan` (If-Match once it exists), `GET /cases/{id}/plan`,
`POST /cases/{id}/plan/approve` (supervisor) and the plan's earlier versions.

Goals answer needs the case's assessments named; actions say who does what by when. Every change
writes a new version row (`case_plan_versions`: nothing is overwritten, so what was approved when
stays readable), bumps the plan's version and makes an approved plan a draft again; an approval
is a version of its own. `case_plans` holds the current version's plain facts and is what
If-Match is checked against. The earliest open action and the review date go to the case's
schedule columns (`due_dates`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.base import new_id, utcnow
from models.cases import Case
from models.casework import CasePlan, PlanVersion
from services.cases.access import case_data_key
from services.cases.records import open_record, seal_record
from services.cases.schedule import review_delay
from services.casework import common, due_dates
from services.casework.assessments import assessed_needs
from services.casework.codes import NEED_CODES
from services.casework.enums import PlanStatus
from services.config import Settings
from services.crypto import Keyring
from services.errors import (
    Conflict,
    FieldProblem,
    InvalidInput,
    NotFound,
    PreconditionFailed,
)
from services.kit.versions import Versioned
from services.policy import Action, Principal

TABLE = "case_plan_versions"
PLAN_VERSIONS = Versioned("plan")
"""The plan answers If-Match as a case does: 428 when required and absent, 412 when stale."""
KIND = "plan"


@dataclass(frozen=True)
class PlanView:
    case_id: uuid.UUID
    version: int
    status: str
    goals: list[dict[str, Any]]
    review_due_on: date
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    author_id: uuid.UUID
    created_at: datetime

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


def plan_goals(dek: bytes, row: PlanVersion) -> list[dict[str, Any]]:
    document = open_record(
        dek, row.content_encrypted, table=TABLE, record_id=row.id, case_id=row.case_id, kind=KIND
    )
    goals: list[dict[str, Any]] = document["goals"]
    return goals


def _view(dek: bytes, row: PlanVersion) -> PlanView:
    return PlanView(
        case_id=row.case_id,
        version=row.version,
        status=row.status,
        goals=plan_goals(dek, row),
        review_due_on=row.review_due_on,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        author_id=row.author_id,
        created_at=row.created_at,
    )


def _version_row(session: Session, case_id: uuid.UUID, version: int) -> PlanVersion | None:
    return session.execute(
        select(PlanVersion).where(PlanVersion.case_id == case_id, PlanVersion.version == version)
    ).scalar_one_or_none()


def _plan_not_found(action: Action, case_id: uuid.UUID) -> NotFound:
    return NotFound(
        "This case has no plan yet.",
        action=action,
        resource_type="plan",
        resource_id=case_id,
        case_id=case_id,
    )


def _write_version(
    session: Session,
    dek: bytes,
    case: Case,
    principal: Principal,
    *,
    version: int,
    status: PlanStatus,
    goals: list[dict[str, Any]],
    review_due_on: date,
    approved_by: uuid.UUID | None,
    approved_at: datetime | None,
    now: datetime,
) -> PlanVersion:
    row = PlanVersion(
        id=new_id(),
        case_id=case.id,
        version=version,
        status=status.value,
        review_due_on=review_due_on,
        approved_by=approved_by,
        approved_at=approved_at,
        author_id=principal.id,
        created_at=now,
    )
    row.content_encrypted = seal_record(
        dek, {"goals": goals}, table=TABLE, record_id=row.id, case_id=case.id, kind=KIND
    )
    session.add(row)
    return row


def _check_version(plan: CasePlan | None, if_match: str | None) -> None:
    """If-Match is required once a plan exists (428 without, 412 stale); before, none may be
    named (a client that thinks it read a plan is told it changed: 412)."""
    expected = PLAN_VERSIONS.parse_if_match(if_match, required=plan is not None)
    if plan is None:
        if expected is not None:
            raise PreconditionFailed(
                "This case has no plan yet; send the first one without If-Match."
            )
        return
    if expected != plan.version:
        raise PreconditionFailed(
            f"The plan changed since you read it (now version {plan.version}); read it again."
        )


def _normalise(
    body: Mapping[str, Any],
    current: list[dict[str, Any]],
    needs: set[str],
    today: date,
    latest_review: date,
) -> list[dict[str, Any]]:
    """Validate the goals, keep known ids, give new goals and actions their ids."""
    problems: list[FieldProblem] = []
    known_goals = {goal["id"] for goal in current}
    known_actions = {action["id"] for goal in current for action in goal.get("actions", [])}
    seen: set[str] = set()
    goals: list[dict[str, Any]] = []
    for g_index, goal in enumerate(body["goals"]):
        loc = ("body", "goals", g_index)
        if goal["need"] not in NEED_CODES:
            problems.append(
                FieldProblem((*loc, "need"), "Unknown need code; see GET /api/v1/reference/needs.")
            )
        elif goal["need"] not in needs:
            problems.append(
                FieldProblem(
                    (*loc, "need"), "No assessment of this case named this need; assess it first."
                )
            )
        goal_id = _keep_id(goal.get("id"), known_goals, seen, (*loc, "id"), problems)
        actions = []
        for a_index, action in enumerate(goal.get("actions", [])):
            a_loc = (*loc, "actions", a_index)
            action_id = _keep_id(action.get("id"), known_actions, seen, (*a_loc, "id"), problems)
            actions.append({**action, "id": action_id})
        goals.append({**goal, "id": goal_id, "actions": actions})
    review = date.fromisoformat(str(body["review_due_on"]))
    if review < today:
        problems.append(FieldProblem(("body", "review_due_on"), "Must not be in the past."))
    elif review > latest_review:
        problems.append(
            FieldProblem(
                ("body", "review_due_on"),
                f"Must be on or before {latest_review.isoformat()}: plans of this risk level are "
                "reviewed at least that often.",
            )
        )
    if problems:
        raise InvalidInput(problems)
    return goals


def _keep_id(
    value: Any,
    known: set[str],
    seen: set[str],
    loc: tuple[str | int, ...],
    problems: list[FieldProblem],
) -> str:
    if value is None:
        return str(new_id())
    text = str(value)
    if text not in known:
        problems.append(FieldProblem(loc, "Not an id of the current plan; omit it for a new one."))
    elif text in seen:
        problems.append(FieldProblem(loc, "The same id twice."))
    seen.add(text)
    return text


def put_plan(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    case_id: uuid.UUID,
    body: Mapping[str, Any],
    *,
    if_match: str | None = None,
) -> PlanView:
    """Create the plan, or replace it (a new version; an approved plan becomes a draft).
    Sending the current content again changes nothing."""
    case = common.load_case(session, principal, case_id, Action.PLAN_UPDATE, for_update=True)
    plan = session.execute(
        select(CasePlan)
        .where(CasePlan.case_id == case.id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    _check_version(plan, if_match)
    common.require_open(case)
    dek = case_data_key(session, keyring, case)
    current_row = _version_row(session, case.id, plan.version) if plan is not None else None
    current = plan_goals(dek, current_row) if current_row is not None else []
    now = utcnow()
    latest_review = (now + review_delay(settings, case.risk_level)).date()
    goals = _normalise(
        body, current, assessed_needs(session, dek, case.id), now.date(), latest_review
    )
    review_due_on = date.fromisoformat(str(body["review_due_on"]))
    if (
        plan is not None
        and current_row is not None
        and goals == current
        and review_due_on == plan.review_due_on
    ):
        common.record(
            session,
            principal,
            Action.PLAN_UPDATE,
            resource_type="plan",
            resource_id=case.id,
            case_id=case.id,
            detail={"unchanged": True, "version": plan.version},
        )
        return _view(dek, current_row)
    version = 1 if plan is None else plan.version + 1
    row = _write_version(
        session,
        dek,
        case,
        principal,
        version=version,
        status=PlanStatus.DRAFT,
        goals=goals,
        review_due_on=review_due_on,
        approved_by=None,
        approved_at=None,
        now=now,
    )
    was = plan.status if plan is not None else None
    if plan is None:
        plan = CasePlan(case_id=case.id, created_at=now)
        session.add(plan)
    plan.version = version
    plan.status = PlanStatus.DRAFT.value
    plan.review_due_on = review_due_on
    plan.approved_by = None
    plan.approved_at = None
    plan.updated_at = now
    plan.updated_by = principal.id
    session.flush()
    due_dates.plan_changed(session, settings, case, goals, review_due_on)
    changed = [] if current_row is None else _changed(current, goals, current_row, review_due_on)
    common.record(
        session,
        principal,
        Action.PLAN_UPDATE,
        resource_type="plan",
        resource_id=case.id,
        case_id=case.id,
        fields=changed or ["goals", "review_due_on"],
        detail={"version": version, "was": was, "status": PlanStatus.DRAFT.value},
    )
    return _view(dek, row)


def _changed(
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
    row: PlanVersion,
    review_due_on: date,
) -> list[str]:
    fields = ["goals"] if before != after else []
    return [*fields, "review_due_on"] if row.review_due_on != review_due_on else fields


def approve_plan(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    if_match: str | None = None,
) -> PlanView:
    """A supervisor approves the current version (a new version, `approved`)."""
    case = common.load_case(session, principal, case_id, Action.PLAN_APPROVE, for_update=True)
    plan = session.execute(
        select(CasePlan)
        .where(CasePlan.case_id == case.id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if plan is None:
        raise _plan_not_found(Action.PLAN_APPROVE, case.id)
    expected = PLAN_VERSIONS.parse_if_match(if_match, required=False)
    if expected is not None and expected != plan.version:
        raise PreconditionFailed(
            f"The plan changed since you read it (now version {plan.version}); read it again."
        )
    common.require_open(case)
    if plan.status == PlanStatus.APPROVED:
        raise Conflict("This version of the plan is already approved.")
    dek = case_data_key(session, keyring, case)
    current_row = _version_row(session, case.id, plan.version)
    if current_row is None:  # pragma: no cover - written together
        raise _plan_not_found(Action.PLAN_APPROVE, case.id)
    now = utcnow()
    row = _write_version(
        session,
        dek,
        case,
        principal,
        version=plan.version + 1,
        status=PlanStatus.APPROVED,
        goals=plan_goals(dek, current_row),
        review_due_on=plan.review_due_on,
        approved_by=principal.id,
        approved_at=now,
        now=now,
    )
    plan.version += 1
    plan.status = PlanStatus.APPROVED.value
    plan.approved_by = principal.id
    plan.approved_at = now
    plan.updated_at = now
    plan.updated_by = principal.id
    session.flush()
    common.record(
        session,
        principal,
        Action.PLAN_APPROVE,
        resource_type="plan",
        resource_id=case.id,
        case_id=case.id,
        fields=["status"],
        detail={"version": plan.version, "approved_version": current_row.version},
    )
    return _view(dek, row)


def read_plan(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    version: int | None = None,
) -> PlanView:
    """The current plan, or one earlier version of it."""
    case = common.load_case(session, principal, case_id, Action.PLAN_READ)
    plan = session.get(CasePlan, case.id)
    wanted = version if version is not None else (plan.version if plan else None)
    row = _version_row(session, case.id, wanted) if wanted is not None else None
    if row is None:
        raise _plan_not_found(Action.PLAN_READ, case.id)
    view = _view(case_data_key(session, keyring, case), row)
    common.record(
        session,
        principal,
        Action.PLAN_READ,
        resource_type="plan",
        resource_id=case.id,
        case_id=case.id,
        fields=["goals"],
        detail={"version": row.version},
    )
    return view


def list_versions(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    limit: int = common.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> common.Page[PlanView]:
    case = common.load_case(session, principal, case_id, Action.PLAN_READ)
    rows, next_cursor = common.newest_first(
        session,
        select(PlanVersion).where(PlanVersion.case_id == case.id),
        order="plan_versions",
        at_col=PlanVersion.created_at,
        id_col=PlanVersion.id,
        limit=limit,
        cursor=cursor,
    )
    dek = case_data_key(session, keyring, case)
    items = [_view(dek, row) for row in rows]
    common.record(
        session,
        principal,
        Action.PLAN_READ,
        resource_type="plan",
        resource_id=case.id,
        case_id=case.id,
        fields=["goals"] if items else [],
        detail={"versions": [item.version for item in items]},
    )
    return common.Page(items=items, next_cursor=next_cursor)
