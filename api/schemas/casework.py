"""Request and response bodies of casework: assessments, the case plan, services delivered,
follow-ups, closure, the timeline, the caseload view and the reference lists.

Requests are strict (`extra="forbid"`, enums, bounded lengths and list sizes). Free text is
stored exactly as sent (encrypted under the case's key) and never echoed in errors.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.schemas.cases import ConcernLabels, _prose
from services.cases.enums import CaseStatus, ClosureReason, RiskLevel, Stage
from services.casework.enums import (
    ActionStatus,
    AssessmentKind,
    Domain,
    PlanStatus,
    ProvidedBy,
    Responsible,
    Severity,
    TimelineKind,
    VisitMode,
    Wellbeing,
)
from services.referrals.enums import ServiceType

Prose = Annotated[str, Field(min_length=1, max_length=10_000), AfterValidator(_prose)]
ShortText = Annotated[str, Field(min_length=1, max_length=2_000), AfterValidator(_prose)]
NeedCode = Annotated[
    str,
    Field(min_length=1, max_length=64, description="A code from `GET /api/v1/reference/needs`."),
]


def _strict(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


def _out(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


CASE_ID = "3f2c1a7e-8b4d-4c1e-9a6f-2d5b7c9e1f03"
USER_ID = "8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
RECORD_ID = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"

# --- assessments ----------------------------------------------------------------------------

DOMAIN_EXAMPLE = {
    "domain": "psychosocial",
    "severity": "high",
    "needs": ["psychosocial_support"],
    "observations": "Nightmares since return; withdrawn at school.",
}


class DomainAssessment(BaseModel):
    model_config = _strict(DOMAIN_EXAMPLE)

    domain: Domain = Field(description="The area of the child's life assessed.")
    severity: Severity = Field(description="How serious the child's situation is in it.")
    needs: list[NeedCode] = Field(
        default_factory=list, max_length=24, description="Need codes identified in this domain."
    )
    observations: Prose | None = Field(default=None, description="What the caseworker saw.")


ASSESSMENT_EXAMPLE = {
    "kind": "initial",
    "completed_on": "2026-03-02",
    "domains": [DOMAIN_EXAMPLE],
    "child_views": "Wants to go back to school.",
    "caregiver_views": "Worried about his sleep.",
}


class AssessmentCreate(BaseModel):
    model_config = _strict(ASSESSMENT_EXAMPLE)

    kind: AssessmentKind = Field(description="`initial`, `comprehensive` or `review`.")
    completed_on: date = Field(description="The day the assessment was completed.")
    domains: list[DomainAssessment] = Field(
        min_length=1, max_length=9, description="One entry per domain assessed."
    )
    child_views: Prose | None = Field(
        default=None, description="The child's own views, in the child's words."
    )
    caregiver_views: Prose | None = Field(default=None, description="The caregiver's views.")


class DomainAssessmentOut(BaseModel):
    domain: Domain = Field(description="The area of the child's life assessed.")
    severity: Severity = Field(description="How serious the child's situation is in it.")
    needs: list[str] = Field(description="Need codes identified in this domain.")
    observations: str | None = Field(default=None, description="What the caseworker saw.")


class AssessmentOut(BaseModel):
    model_config = _out(
        {
            **ASSESSMENT_EXAMPLE,
            "id": RECORD_ID,
            "case_id": CASE_ID,
            "author_id": USER_ID,
            "created_at": "2026-03-02T10:00:00Z",
        }
    )

    id: uuid.UUID = Field(description="The assessment's id.")
    case_id: uuid.UUID = Field(description="The case assessed.")
    kind: AssessmentKind = Field(description="`initial`, `comprehensive` or `review`.")
    completed_on: date = Field(description="The day the assessment was completed.")
    domains: list[DomainAssessmentOut] = Field(description="The domains assessed.")
    child_views: str | None = Field(default=None, description="The child's own views.")
    caregiver_views: str | None = Field(default=None, description="The caregiver's views.")
    author_id: uuid.UUID = Field(description="Who recorded it.")
    created_at: datetime = Field(description="When it was recorded.")


class AssessmentList(BaseModel):
    items: list[AssessmentOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


# --- the case plan --------------------------------------------------------------------------

ACTION_EXAMPLE = {
    "description": "Refer to the psychosocial partner for group sessions.",
    "responsible": "caseworker",
    "service_type": "mhpss",
    "due_on": "2026-03-20",
    "status": "planned",
}
GOAL_EXAMPLE = {
    "need": "psychosocial_support",
    "description": "He sleeps through the night and feels safe at school.",
    "actions": [ACTION_EXAMPLE],
}
PLAN_EXAMPLE = {"goals": [GOAL_EXAMPLE], "review_due_on": "2026-05-01"}


class PlanActionIn(BaseModel):
    model_config = _strict(ACTION_EXAMPLE)

    id: uuid.UUID | None = Field(
        default=None, description="Keep an existing action's id when changing it; omit for new."
    )
    description: ShortText = Field(description="What is to be done.")
    responsible: Responsible = Field(description="Who does it.")
    service_type: ServiceType | None = Field(
        default=None, description="The service it provides, from `GET /reference/services`."
    )
    due_on: date = Field(description="When it is due (late from the next day on).")
    status: ActionStatus = Field(description="`planned`, `in_progress`, `done` or `dropped`.")


class PlanGoalIn(BaseModel):
    model_config = _strict(GOAL_EXAMPLE)

    id: uuid.UUID | None = Field(
        default=None, description="Keep an existing goal's id when changing it; omit for new."
    )
    need: NeedCode = Field(description="The assessed need this goal answers.")
    description: ShortText = Field(description="What the goal is, in plain words.")
    actions: list[PlanActionIn] = Field(
        default_factory=list, max_length=50, description="The actions towards the goal."
    )


class PlanIn(BaseModel):
    model_config = _strict(PLAN_EXAMPLE)

    goals: list[PlanGoalIn] = Field(min_length=1, max_length=30, description="The goals.")
    review_due_on: date = Field(
        description="When the plan is to be reviewed (at most the risk level's review interval "
        "ahead: 30, 60 or 90 days by default)."
    )


class PlanActionOut(BaseModel):
    id: uuid.UUID = Field(description="The action's id (stable across versions).")
    description: str = Field(description="What is to be done.")
    responsible: Responsible = Field(description="Who does it.")
    service_type: ServiceType | None = Field(default=None, description="The service it provides.")
    due_on: date = Field(description="When it is due.")
    status: ActionStatus = Field(description="Where it stands.")


class PlanGoalOut(BaseModel):
    id: uuid.UUID = Field(description="The goal's id (stable across versions).")
    need: str = Field(description="The assessed need this goal answers.")
    description: str = Field(description="What the goal is.")
    actions: list[PlanActionOut] = Field(description="The actions towards the goal.")


class PlanOut(BaseModel):
    model_config = _out(
        {
            "case_id": CASE_ID,
            "version": 2,
            "status": "approved",
            "goals": [
                {
                    **GOAL_EXAMPLE,
                    "id": RECORD_ID,
                    "actions": [{**ACTION_EXAMPLE, "id": RECORD_ID}],
                }
            ],
            "review_due_on": "2026-05-01",
            "approved_by": USER_ID,
            "approved_at": "2026-03-03T09:00:00Z",
            "author_id": USER_ID,
            "created_at": "2026-03-03T09:00:00Z",
        }
    )

    case_id: uuid.UUID = Field(description="The case the plan is for.")
    version: int = Field(description="1 when created, +1 on every change; the ETag.")
    status: PlanStatus = Field(description="`draft` until a supervisor approves it.")
    goals: list[PlanGoalOut] = Field(description="The goals and their actions.")
    review_due_on: date = Field(description="When the plan is to be reviewed.")
    approved_by: uuid.UUID | None = Field(description="The approving supervisor, if approved.")
    approved_at: datetime | None = Field(description="When it was approved, if approved.")
    author_id: uuid.UUID = Field(description="Who wrote this version (or approved it).")
    created_at: datetime = Field(description="When this version was written.")


class PlanVersionList(BaseModel):
    items: list[PlanOut] = Field(description="Every version of the plan, newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


# --- services delivered ---------------------------------------------------------------------

SERVICE_EXAMPLE = {
    "service_type": "medical",
    "provided_on": "2026-03-10",
    "provided_by": "own_agency",
    "description": "Wound care at the clinic.",
    "outcome": "Healed; no further visits needed.",
}


class ServiceCreate(BaseModel):
    model_config = _strict(SERVICE_EXAMPLE)

    service_type: ServiceType = Field(description="From `GET /reference/services`.")
    provided_on: date = Field(description="When the child received it.")
    provided_by: ProvidedBy = Field(description="`own_agency` or `partner`.")
    referral_id: uuid.UUID | None = Field(
        default=None, description="The case's referral this service came through, if any."
    )
    description: Prose | None = Field(default=None, description="What was provided.")
    outcome: Prose | None = Field(default=None, description="What came of it.")


class ServiceOut(BaseModel):
    model_config = _out(
        {
            **SERVICE_EXAMPLE,
            "id": RECORD_ID,
            "case_id": CASE_ID,
            "referral_id": None,
            "recorded_by_type": "user",
            "recorded_by": USER_ID,
            "created_at": "2026-03-10T12:00:00Z",
        }
    )

    id: uuid.UUID = Field(description="The record's id.")
    case_id: uuid.UUID = Field(description="The case.")
    service_type: ServiceType = Field(description="The service type.")
    provided_on: date = Field(description="When the child received it.")
    provided_by: ProvidedBy = Field(description="`own_agency` or `partner`.")
    referral_id: uuid.UUID | None = Field(description="The referral it came through, if any.")
    description: str | None = Field(default=None, description="What was provided.")
    outcome: str | None = Field(default=None, description="What came of it.")
    recorded_by_type: str = Field(description="`user`, or `client` (a partner's completion).")
    recorded_by: uuid.UUID = Field(description="The user or API client that recorded it.")
    created_at: datetime = Field(description="When it was recorded.")


class ServiceList(BaseModel):
    items: list[ServiceOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


# --- follow-ups -----------------------------------------------------------------------------

FOLLOW_UP_EXAMPLE = {
    "happened_on": "2026-04-01",
    "mode": "home_visit",
    "observations": "Sleeping better; attends the group sessions.",
    "wellbeing": "improved",
    "next_due_on": "2026-04-15",
}


class FollowUpCreate(BaseModel):
    model_config = _strict(FOLLOW_UP_EXAMPLE)

    happened_on: date = Field(description="When the contact took place.")
    mode: VisitMode = Field(description="How: `home_visit`, `phone`, `office` or `remote`.")
    observations: Prose = Field(description="What was seen and heard.")
    wellbeing: Wellbeing = Field(description="The trend since the last contact.")
    next_due_on: date | None = Field(
        default=None, description="When the next follow-up is due (schedules the case)."
    )


class FollowUpOut(BaseModel):
    model_config = _out(
        {
            **FOLLOW_UP_EXAMPLE,
            "id": RECORD_ID,
            "case_id": CASE_ID,
            "author_id": USER_ID,
            "created_at": "2026-04-01T15:00:00Z",
        }
    )

    id: uuid.UUID = Field(description="The follow-up's id.")
    case_id: uuid.UUID = Field(description="The case.")
    happened_on: date = Field(description="When the contact took place.")
    mode: VisitMode = Field(description="How.")
    observations: str = Field(description="What was seen and heard.")
    wellbeing: Wellbeing = Field(description="The trend since the last contact.")
    next_due_on: date | None = Field(description="When the next follow-up is due.")
    author_id: uuid.UUID = Field(description="Who recorded it.")
    created_at: datetime = Field(description="When it was recorded.")


class FollowUpList(BaseModel):
    items: list[FollowUpOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


# --- closure --------------------------------------------------------------------------------


class CloseCase(BaseModel):
    model_config = _strict({"reason": "goals_met"})

    reason: ClosureReason = Field(description="From `GET /reference/closure-reasons`.")
    note: ShortText | None = Field(
        default=None, description="Why, in words; required when the reason is `other`."
    )


# --- timeline -------------------------------------------------------------------------------


class TimelineItem(BaseModel):
    at: datetime = Field(description="When it happened (was recorded).")
    kind: TimelineKind = Field(description="What kind of record it is.")
    id: uuid.UUID = Field(description="The record's id.")
    summary: str = Field(description="One line about it (decrypted for you).")


class Timeline(BaseModel):
    model_config = _out(
        {
            "items": [
                {
                    "at": "2026-03-02T10:00:00Z",
                    "kind": "assessment",
                    "id": RECORD_ID,
                    "summary": "Initial assessment: 1 domain, highest severity high",
                }
            ],
            "next_cursor": None,
        }
    )

    items: list[TimelineItem] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


# --- overdue reasons and the caseload view --------------------------------------------------


class CaseloadRow(BaseModel):
    caseworker_id: uuid.UUID = Field(description="The caseworker.")
    username: str = Field(description="The caseworker's username.")
    open_cases: int = Field(description="Open cases owned.")
    by_stage: dict[str, int] = Field(description="Open cases per stage.")
    by_risk: dict[str, int] = Field(description="Open cases per risk level.")
    overdue_cases: int = Field(description="Open cases whose next action is past due.")
    overdue_items: dict[str, int] = Field(
        description="Late items per kind (`first_assessment`, `case_review`, `plan_action`, "
        "`plan_review`, `follow_up`); a case can count under several."
    )
    follow_ups_due_soon: int = Field(
        description="Open cases with a follow-up due within the window (`days`)."
    )


class Caseload(BaseModel):
    model_config = _out(
        {
            "as_of": "2026-04-01T08:00:00Z",
            "window_days": 14,
            "items": [
                {
                    "caseworker_id": USER_ID,
                    "username": "amal",
                    "open_cases": 12,
                    "by_stage": {"assessment": 3, "implementation": 9},
                    "by_risk": {"high": 4, "medium": 6, "low": 2},
                    "overdue_cases": 2,
                    "overdue_items": {"plan_action": 2, "follow_up": 1},
                    "follow_ups_due_soon": 5,
                }
            ],
        }
    )

    as_of: datetime = Field(description="When the counts were taken.")
    window_days: int = Field(description="The look-ahead window for upcoming follow-ups.")
    items: list[CaseloadRow] = Field(description="One row per caseworker of your agency.")


# --- case search by body --------------------------------------------------------------------


class CaseSearch(BaseModel):
    model_config = _strict({"name": "Amal Hassan", "date_of_birth": "2014-03-09"})

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A given, family or full name, matched exactly after normalisation.",
    )
    date_of_birth: date | None = Field(default=None, description="Narrows a name search.")
    risk_level: RiskLevel | None = Field(default=None, description="Only this risk level.")
    status: CaseStatus | None = Field(default=None, description="Only this status.")
    stage: Stage | None = Field(default=None, description="Only this stage.")
    owner_id: uuid.UUID | None = Field(default=None, description="Only this owner's cases.")
    overdue: bool = Field(default=False, description="Only open cases past their next action.")
    limit: int = Field(default=50, ge=1, le=200, description="Page size.")
    cursor: str | None = Field(
        default=None, max_length=500, description="`next_cursor` of the previous page."
    )


# --- reference lists ------------------------------------------------------------------------


LabelsOut = ConcernLabels
"""The same three labels as a concern's."""


class ReferenceItem(BaseModel):
    code: str = Field(description="The code to send.")
    label: str = Field(description="The label in the language Accept-Language chose.")
    labels: LabelsOut = Field(description="Every label.")


class NeedItem(ReferenceItem):
    domain: Domain = Field(description="The assessment domain the need belongs to.")


class ReferenceList(BaseModel):
    model_config = _out(
        {
            "items": [
                {
                    "code": "goals_met",
                    "label": "Case plan goals met",
                    "labels": {
                        "en": "Case plan goals met",
                        "ar": "تحققت أهداف خطة الحالة",
                        "ckb": "ئامانجەکانی پلانی کەیس بەدیهاتن",
                    },
                }
            ]
        }
    )

    items: list[ReferenceItem] = Field(description="The codes, in a stable order.")


class NeedList(BaseModel):
    items: list[NeedItem] = Field(description="The need codes, grouped by domain.")
