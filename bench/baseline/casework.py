"""The baseline's casework writes: the same three operations as Haven's (an assessment, a plan
update with If-Match and a new version row, a follow-up that reschedules the case), in plain
columns, the way a CRUD app would write them. No encryption, no policy module, no audit log."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from bench.baseline.app import CurrentUser, Db
from bench.baseline.models import Assessment, Case, FollowUp, Plan, PlanVersion


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DomainIn(Strict):
    domain: str = Field(max_length=32)
    severity: Literal["none", "low", "medium", "high"]
    needs: list[str] = Field(default_factory=list, max_length=24)
    observations: str | None = Field(default=None, max_length=10_000)


class AssessmentIn(Strict):
    kind: Literal["initial", "comprehensive", "review"]
    completed_on: date
    domains: list[DomainIn] = Field(min_length=1, max_length=9)
    child_views: str | None = Field(default=None, max_length=10_000)
    caregiver_views: str | None = Field(default=None, max_length=10_000)


class ActionIn(Strict):
    id: uuid.UUID | None = None
    description: str = Field(max_length=2_000)
    responsible: Literal["caseworker", "child", "caregiver", "partner"]
    service_type: str | None = Field(default=None, max_length=32)
    due_on: date
    status: Literal["planned", "in_progress", "done", "dropped"]


class GoalIn(Strict):
    id: uuid.UUID | None = None
    need: str = Field(max_length=64)
    description: str = Field(max_length=2_000)
    actions: list[ActionIn] = Field(default_factory=list, max_length=50)


class PlanIn(Strict):
    goals: list[GoalIn] = Field(min_length=1, max_length=30)
    review_due_on: date


class FollowUpIn(Strict):
    happened_on: date
    mode: Literal["home_visit", "phone", "office", "remote"]
    observations: str = Field(max_length=10_000)
    wellbeing: Literal["improved", "same", "worse"]
    next_due_on: date | None = None


router = APIRouter(prefix="/api/v1")


def _case(db: Db, case_id: uuid.UUID, *, lock: bool = False) -> Case:
    query = select(Case).where(Case.id == case_id)
    case = db.scalars(query.with_for_update() if lock else query).one_or_none()
    if case is None:
        raise HTTPException(404, "not found")
    return case


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


@router.post("/cases/{case_id}/assessments", status_code=201)
def create_assessment(
    case_id: uuid.UUID, body: AssessmentIn, db: Db, user: CurrentUser
) -> dict[str, Any]:
    case = _case(db, case_id, lock=True)
    row = Assessment(
        case_id=case.id,
        kind=body.kind,
        completed_on=body.completed_on.isoformat(),
        author_id=user.id,
        domains=[d.model_dump() for d in body.domains],
        child_views=body.child_views,
        caregiver_views=body.caregiver_views,
    )
    db.add(row)
    db.commit()
    return {"id": str(row.id), "case_id": str(case.id), "kind": row.kind, "domains": row.domains}


@router.put("/cases/{case_id}/plan")
def put_plan(
    case_id: uuid.UUID,
    body: PlanIn,
    db: Db,
    user: CurrentUser,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    case = _case(db, case_id, lock=True)
    plan = db.get(Plan, case.id)
    if plan is not None and if_match is None:
        raise HTTPException(428, "If-Match required")
    if plan is not None and (if_match or "").strip('W/"') != str(plan.version):
        raise HTTPException(412, "stale version")
    assessed = {
        need
        for domains in db.scalars(select(Assessment.domains).where(Assessment.case_id == case.id))
        for domain in domains
        for need in domain.get("needs", [])
    }
    if any(goal.need not in assessed for goal in body.goals):
        raise HTTPException(422, "need not assessed")
    goals = [
        {
            **goal.model_dump(mode="json"),
            "id": str(goal.id or uuid.uuid4()),
            "actions": [
                {**a.model_dump(mode="json"), "id": str(a.id or uuid.uuid4())} for a in goal.actions
            ],
        }
        for goal in body.goals
    ]
    version = 1 if plan is None else plan.version + 1
    if plan is None:
        plan = Plan(case_id=case.id)
        db.add(plan)
    plan.version, plan.status = version, "draft"
    plan.review_due_on = body.review_due_on.isoformat()
    plan.updated_at = datetime.now(UTC)
    db.add(
        PlanVersion(
            case_id=case.id,
            version=version,
            status="draft",
            review_due_on=plan.review_due_on,
            goals=goals,
            author_id=user.id,
        )
    )
    dues = [
        a.due_on for g in body.goals for a in g.actions if a.status in ("planned", "in_progress")
    ]
    case.next_action_due_at = _end_of(min([*dues, body.review_due_on]))
    db.commit()
    response.headers["ETag"] = f'"{version}"'
    return {"case_id": str(case.id), "version": version, "status": "draft", "goals": goals}


@router.get("/cases/{case_id}/plan")
def get_plan(case_id: uuid.UUID, db: Db, _user: CurrentUser, response: Response) -> dict[str, Any]:
    plan = db.get(Plan, case_id)
    if plan is None:
        raise HTTPException(404, "no plan")
    response.headers["ETag"] = f'"{plan.version}"'
    return {"case_id": str(case_id), "version": plan.version, "status": plan.status}


@router.post("/cases/{case_id}/follow-ups", status_code=201)
def create_follow_up(
    case_id: uuid.UUID, body: FollowUpIn, db: Db, user: CurrentUser
) -> dict[str, Any]:
    case = _case(db, case_id, lock=True)
    row = FollowUp(
        case_id=case.id,
        happened_on=body.happened_on.isoformat(),
        next_due_on=body.next_due_on.isoformat() if body.next_due_on else None,
        mode=body.mode,
        observations=body.observations,
        wellbeing=body.wellbeing,
        author_id=user.id,
    )
    db.add(row)
    if body.next_due_on is not None:
        case.next_action_due_at = _end_of(body.next_due_on)
    db.commit()
    return {"id": str(row.id), "case_id": str(case.id), "wellbeing": row.wellbeing}
