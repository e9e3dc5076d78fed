"""Routes: casework on a case (assessments, the plan, services delivered, follow-ups, the
timeline), case search by body, and the supervisor's caseload view.

Thin: parse, call one service function, return the declared model. Who may do what, and which
cases they see, is decided in the services (the case's own visibility: a case the caller may not
see is 404 for every record under it).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import (
    REPLAY_HEADER,
    REPLAY_HEADER_DOC,
    IdempotencyKeyHeader,
    IfMatchHeader,
    KeyringDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
)
from api.openapi import requires
from api.problems import PROBLEM_MEDIA_TYPE, Problem
from api.routing import TransactionalRoute
from api.schemas.cases import CaseList, case_item
from api.schemas.casework import (
    AssessmentCreate,
    AssessmentList,
    AssessmentOut,
    Caseload,
    CaseloadRow,
    CaseSearch,
    FollowUpCreate,
    FollowUpList,
    FollowUpOut,
    PlanIn,
    PlanOut,
    PlanVersionList,
    ServiceCreate,
    ServiceList,
    ServiceOut,
    Timeline,
    TimelineItem,
)
from services.cases.listing import CaseQuery, list_cases
from services.casework import assessments, delivered, follow_ups, plans
from services.casework.assessments import AssessmentView
from services.casework.caseload import caseload
from services.casework.delivered import ServiceView
from services.casework.follow_ups import FollowUpView
from services.casework.plans import PlanView
from services.casework.timeline import case_timeline
from services.policy import Action

router = APIRouter(route_class=TransactionalRoute)
"""Set here: `include_router` keeps each route's own class, so the parent's is not enough."""


Limit = Annotated[int, Query(ge=1, le=200, description="Page size (default 50, max 200).")]
Cursor = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` of the previous page.")
]


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": description}


Responses = dict[int | str, dict[str, Any]]
CLOSED: Responses = {409: _problem("The case is closed; a supervisor may reopen it")}
PLAN_ETAG: Responses = {
    200: {
        "headers": {
            "ETag": {
                "description": 'The plan version, e.g. `"3"`: send it back as If-Match.',
                "schema": {"type": "string"},
            }
        }
    }
}
CREATED: Responses = {201: {"headers": {REPLAY_HEADER: REPLAY_HEADER_DOC}}}


def _replayed(response: Response, replayed: bool) -> None:
    if replayed:
        response.headers[REPLAY_HEADER] = "true"


def _assessment(view: AssessmentView) -> AssessmentOut:
    return AssessmentOut.model_validate(
        {
            "id": view.id,
            "case_id": view.case_id,
            "kind": view.kind,
            "completed_on": view.completed_on,
            "domains": view.domains,
            "child_views": view.child_views,
            "caregiver_views": view.caregiver_views,
            "author_id": view.author_id,
            "created_at": view.created_at,
        }
    )


def _plan(view: PlanView, response: Response | None = None) -> PlanOut:
    if response is not None:
        response.headers["ETag"] = view.etag
    return PlanOut.model_validate(
        {
            "case_id": view.case_id,
            "version": view.version,
            "status": view.status,
            "goals": view.goals,
            "review_due_on": view.review_due_on,
            "approved_by": view.approved_by,
            "approved_at": view.approved_at,
            "author_id": view.author_id,
            "created_at": view.created_at,
        }
    )


def _service(view: ServiceView) -> ServiceOut:
    return ServiceOut.model_validate(
        {
            "id": view.id,
            "case_id": view.case_id,
            "service_type": view.service_type,
            "provided_on": view.provided_on,
            "provided_by": view.provided_by,
            "referral_id": view.referral_id,
            "description": view.description,
            "outcome": view.outcome,
            "recorded_by_type": view.recorded_by_type,
            "recorded_by": view.recorded_by,
            "created_at": view.created_at,
        }
    )


def _follow_up(view: FollowUpView) -> FollowUpOut:
    return FollowUpOut.model_validate(
        {
            "id": view.id,
            "case_id": view.case_id,
            "happened_on": view.happened_on,
            "mode": view.mode,
            "observations": view.observations,
            "wellbeing": view.wellbeing,
            "next_due_on": view.next_due_on,
            "author_id": view.author_id,
            "created_at": view.created_at,
        }
    )


# --- assessments ----------------------------------------------------------------------------


@router.post(
    "/cases/{case_id}/assessments",
    response_model=AssessmentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record an assessment of the child (encrypted under the case's key)",
    description="By domain: severity, need codes (`GET /reference/needs`) and observations; "
    "with the child's and the caregiver's own views. The first assessment stops the case's "
    "first-assessment clock and opens the gate from `assessment` to `case_plan`. Honours "
    "Idempotency-Key.",
    responses={**CREATED, **CLOSED},
    openapi_extra=requires(Action.ASSESSMENT_CREATE),
)
def create_assessment(
    case_id: uuid.UUID,
    body: AssessmentCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> AssessmentOut:
    view = assessments.record_assessment(
        session,
        keyring,
        settings,
        principal,
        case_id,
        body.model_dump(mode="json"),
        idempotency_key=idempotency_key,
    )
    _replayed(response, view.replayed)
    return _assessment(view)


@router.get(
    "/cases/{case_id}/assessments",
    response_model=AssessmentList,
    summary="A case's assessments, newest first",
    openapi_extra=requires(Action.ASSESSMENT_LIST),
)
def list_assessments(
    case_id: uuid.UUID,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AssessmentList:
    page = assessments.list_assessments(
        session, keyring, principal, case_id, limit=limit, cursor=cursor
    )
    return AssessmentList(
        items=[_assessment(item) for item in page.items], next_cursor=page.next_cursor
    )


# --- the case plan --------------------------------------------------------------------------


@router.put(
    "/cases/{case_id}/plan",
    response_model=PlanOut,
    summary="Write the case plan (If-Match once it exists)",
    description="Goals answer needs the case's assessments named; actions say who does what "
    "by when. Each change is a new version (earlier ones stay readable under "
    "`/plan/versions`) and makes an approved plan a `draft` again; sending the current plan "
    "again changes nothing. Without a plan, send no If-Match; once one exists, If-Match is "
    "required (428) and must be current (412). The earliest open action and the review date "
    "schedule the case (`next_action_due_at`).",
    responses={
        **PLAN_ETAG,
        **CLOSED,
        412: _problem("If-Match names a version that is no longer current"),
        428: _problem("If-Match is required once the case has a plan"),
    },
    openapi_extra=requires(Action.PLAN_UPDATE),
)
def update_plan(
    case_id: uuid.UUID,
    body: PlanIn,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> PlanOut:
    view = plans.put_plan(
        session,
        keyring,
        settings,
        principal,
        case_id,
        body.model_dump(mode="json"),
        if_match=if_match,
    )
    return _plan(view, response)


@router.get(
    "/cases/{case_id}/plan",
    response_model=PlanOut,
    summary="The case's current plan (404 while it has none)",
    responses=PLAN_ETAG,
    openapi_extra=requires(Action.PLAN_READ),
)
def read_plan(
    case_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> PlanOut:
    return _plan(plans.read_plan(session, keyring, principal, case_id), response)


@router.post(
    "/cases/{case_id}/plan/approve",
    response_model=PlanOut,
    summary="Approve the case's current plan (supervisor)",
    description="Approval is a version of its own (`status: approved`, who and when), so the "
    "versions show what was approved when. It opens the gate from `case_plan` to "
    "`implementation`. Optional If-Match: stale is 412; an approved plan is 409.",
    responses={
        **PLAN_ETAG,
        409: _problem("The plan is already approved, or the case is closed"),
        412: _problem("If-Match names a version that is no longer current"),
    },
    openapi_extra=requires(Action.PLAN_APPROVE),
)
def approve_plan(
    case_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> PlanOut:
    view = plans.approve_plan(session, keyring, principal, case_id, if_match=if_match)
    return _plan(view, response)


@router.get(
    "/cases/{case_id}/plan/versions",
    response_model=PlanVersionList,
    summary="Every version of the case's plan, newest first",
    openapi_extra=requires(Action.PLAN_READ),
)
def list_plan_versions(
    case_id: uuid.UUID,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PlanVersionList:
    page = plans.list_versions(session, keyring, principal, case_id, limit=limit, cursor=cursor)
    return PlanVersionList(items=[_plan(item) for item in page.items], next_cursor=page.next_cursor)


@router.get(
    "/cases/{case_id}/plan/versions/{version}",
    response_model=PlanOut,
    summary="One version of the case's plan",
    openapi_extra=requires(Action.PLAN_READ),
)
def read_plan_version(
    case_id: uuid.UUID,
    version: Annotated[int, Path(ge=1, le=1_000_000_000, description="The plan version.")],
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> PlanOut:
    return _plan(plans.read_plan(session, keyring, principal, case_id, version=version))


# --- services delivered ---------------------------------------------------------------------


@router.post(
    "/cases/{case_id}/services",
    response_model=ServiceOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record a service the child received (own agency or partner)",
    description="A partner's completion of a referral records its service by itself; use this "
    "for the rest. `referral_id` must be a referral of this case (then `provided_by` is "
    "`partner`). Honours Idempotency-Key.",
    responses={**CREATED, **CLOSED},
    openapi_extra=requires(Action.SERVICE_CREATE),
)
def create_service(
    case_id: uuid.UUID,
    body: ServiceCreate,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> ServiceOut:
    view = delivered.record_service(
        session,
        keyring,
        principal,
        case_id,
        body.model_dump(mode="json"),
        idempotency_key=idempotency_key,
    )
    _replayed(response, view.replayed)
    return _service(view)


@router.get(
    "/cases/{case_id}/services",
    response_model=ServiceList,
    summary="Services the child received, newest first",
    openapi_extra=requires(Action.SERVICE_LIST),
)
def list_services(
    case_id: uuid.UUID,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ServiceList:
    page = delivered.list_services(session, keyring, principal, case_id, limit=limit, cursor=cursor)
    return ServiceList(items=[_service(item) for item in page.items], next_cursor=page.next_cursor)


# --- follow-ups -----------------------------------------------------------------------------


@router.post(
    "/cases/{case_id}/follow-ups",
    response_model=FollowUpOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record a follow-up contact with the child",
    description="`next_due_on` of the latest follow-up schedules the case's next follow-up. "
    "Honours Idempotency-Key.",
    responses={**CREATED, **CLOSED},
    openapi_extra=requires(Action.FOLLOW_UP_CREATE),
)
def create_follow_up(
    case_id: uuid.UUID,
    body: FollowUpCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> FollowUpOut:
    view = follow_ups.record_follow_up(
        session,
        keyring,
        settings,
        principal,
        case_id,
        body.model_dump(mode="json"),
        idempotency_key=idempotency_key,
    )
    _replayed(response, view.replayed)
    return _follow_up(view)


@router.get(
    "/cases/{case_id}/follow-ups",
    response_model=FollowUpList,
    summary="A case's follow-ups, newest first",
    openapi_extra=requires(Action.FOLLOW_UP_LIST),
)
def list_follow_ups(
    case_id: uuid.UUID,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> FollowUpList:
    page = follow_ups.list_follow_ups(
        session, keyring, principal, case_id, limit=limit, cursor=cursor
    )
    return FollowUpList(
        items=[_follow_up(item) for item in page.items], next_cursor=page.next_cursor
    )


# --- the timeline ---------------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/timeline",
    response_model=Timeline,
    summary="Everything that happened on a case, newest first",
    description="Stage moves, assessments, plan versions, services, follow-ups, notes, "
    "referrals and closures, each with a one-line summary.",
    openapi_extra=requires(Action.CASE_TIMELINE),
)
def list_timeline(
    case_id: uuid.UUID,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Timeline:
    page = case_timeline(session, keyring, principal, case_id, limit=limit, cursor=cursor)
    return Timeline(
        items=[
            TimelineItem(at=item.at, kind=item.kind, id=item.id, summary=item.summary)
            for item in page.items
        ],
        next_cursor=page.next_cursor,
    )


# --- case search by body, and the caseload view ---------------------------------------------


@router.post(
    "/cases/search",
    response_model=CaseList,
    summary="Search cases with the query of `GET /cases` sent as a body",
    description="The same filters and answer as `GET /cases`, so a child's name never travels "
    "in a URL (where proxies and access logs keep it). Bad fields are reported under `body`.",
    openapi_extra=requires(Action.CASE_SEARCH),
)
def search(
    body: CaseSearch,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> CaseList:
    page = list_cases(
        session,
        keyring,
        settings,
        principal,
        CaseQuery(**body.model_dump(), where="body"),
    )
    return CaseList(
        items=[case_item(view.as_dict()) for view in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/caseload",
    response_model=Caseload,
    summary="Your agency's caseload per caseworker (supervisor)",
    description="Open cases by stage and by risk, overdue cases and which kinds of work are "
    "late, and follow-ups due within `days` (or already due), per caseworker. Counted from "
    "the cases' plain columns only: nothing is decrypted.",
    openapi_extra=requires(Action.CASELOAD_READ),
)
def read_caseload(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    days: Annotated[int, Query(ge=1, le=90, description="Upcoming follow-up window.")] = 14,
) -> Caseload:
    view = caseload(session, settings, principal, days=days)
    return Caseload(
        as_of=view.as_of,
        window_days=view.window_days,
        items=[
            CaseloadRow(
                caseworker_id=row.caseworker_id,
                username=row.username,
                open_cases=row.open_cases,
                by_stage=dict(row.by_stage),
                by_risk=dict(row.by_risk),
                overdue_cases=row.overdue_cases,
                overdue_items=dict(row.overdue_items),
                follow_ups_due_soon=row.follow_ups_due_soon,
            )
            for row in view.items
        ],
    )
