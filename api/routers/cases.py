"""Routes: cases, their workflow, notes and erasure (the REST contract's "Cases" section).

Thin: parse, call one service function, return the declared model. Every case response carries
`ETag: "<version>"`.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

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
from api.pagination import CursorQuery, LimitQuery
from api.problems import PROBLEM_MEDIA_TYPE, Problem
from api.routing import TransactionalRoute
from api.schemas.cases import (
    Assignment,
    CaseCreate,
    CaseCreated,
    CaseList,
    CaseOut,
    CasePatch,
    Erasure,
    NoteCreate,
    NoteList,
    NoteOut,
    StageMove,
    case_item,
)
from api.schemas.casework import CloseCase
from services.cases.enums import CaseStatus, RiskLevel, Stage
from services.cases.erasure import erase_case
from services.cases.intake import create_case
from services.cases.listing import CaseQuery, list_cases
from services.cases.notes import add_note, list_notes
from services.cases.read import read_case
from services.cases.update import update_case
from services.cases.views import CaseView, NoteView
from services.cases.workflow import assign_case, move_stage, reopen_case
from services.closing import close_case
from services.kit.pages import DEFAULT_LIMIT
from services.policy import Action

router = APIRouter(route_class=TransactionalRoute)
"""Set here: `include_router` keeps each route's own class, so the parent's is not enough."""


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": description}


Responses = dict[int | str, dict[str, Any]]
CONFLICT: Responses = {
    409: _problem(
        "The case's stage or status does not allow this; a stage gate that is not met lists "
        "what the case still needs in `missing` (`assessment`, `plan`, `plan_approval`)"
    )
}
PRECONDITIONS: Responses = {
    412: _problem("If-Match names a version that is no longer current"),
    428: _problem("If-Match is required"),
}
ETAG: Responses = {
    200: {
        "headers": {
            "ETag": {
                "description": 'The case version, e.g. `"3"`: send it back as If-Match.',
                "schema": {"type": "string"},
            }
        }
    }
}
STALE: Responses = {412: _problem("If-Match names a version that is no longer current")}


def _case(view: CaseView, response: Response) -> CaseOut:
    response.headers["ETag"] = view.etag
    return CaseOut.model_validate(view.as_dict())


def _note(view: NoteView) -> NoteOut:
    return NoteOut(
        id=view.id,
        case_id=view.case_id,
        author_id=view.author_id,
        text=view.text,
        created_at=view.created_at,
    )


@router.post(
    "/cases",
    response_model=CaseCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Register a child (intake); the caller becomes the owner",
    responses={
        201: {
            "headers": {
                "ETag": {"description": '`"1"`', "schema": {"type": "string"}},
                REPLAY_HEADER: REPLAY_HEADER_DOC,
            }
        },
        403: _problem("Only caseworkers register cases"),
    },
    openapi_extra=requires(Action.CASE_CREATE),
)
def create(
    body: CaseCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CaseCreated:
    view = create_case(
        session,
        keyring,
        settings,
        principal,
        body.model_dump(mode="json"),
        idempotency_key=idempotency_key,
    )
    response.headers["ETag"] = view.etag
    response.headers["Location"] = f"/api/v1/cases/{view.case.id}"
    if view.replayed:
        response.headers[REPLAY_HEADER] = "true"
    return CaseCreated.model_validate(view.as_dict())


@router.get(
    "/cases",
    response_model=CaseList,
    summary="List the cases you may see; filter, search by name, or list overdue work",
    description="`name` matches a given, family or full name (given then family) exactly after "
    "normalisation (case, spacing, diacritics, Arabic and Kurdish letter variants); "
    "`date_of_birth` narrows a name search (alone it is 422). `overdue=true` lists open cases "
    "whose `next_action_due_at` has passed, most overdue first.",
    name="list_cases",  # operation id: cases_list
    openapi_extra=requires(Action.CASE_LIST),
)
def index(
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    name: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="A given, family or full name (given then family), matched exactly "
            "after normalisation (case, spacing, diacritics, Arabic and Kurdish letter variants).",
        ),
    ] = None,
    date_of_birth: Annotated[
        date | None,
        Query(description="`YYYY-MM-DD`: narrows a `name` search (alone it is 422)."),
    ] = None,
    risk_level: Annotated[
        RiskLevel | None, Query(description="Only cases at this risk level.")
    ] = None,
    status: Annotated[
        CaseStatus | None, Query(description="Only `open` or only `closed` cases.")
    ] = None,
    stage: Annotated[Stage | None, Query(description="Only cases at this stage.")] = None,
    owner_id: Annotated[
        uuid.UUID | None, Query(description="Only the cases this caseworker owns.")
    ] = None,
    overdue: Annotated[
        bool,
        Query(
            description="`true`: only open cases whose `next_action_due_at` has passed, most "
            "overdue first."
        ),
    ] = False,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> CaseList:
    page = list_cases(
        session,
        keyring,
        settings,
        principal,
        CaseQuery(
            name=name,
            date_of_birth=date_of_birth,
            risk_level=risk_level,
            status=status,
            stage=stage,
            owner_id=owner_id,
            overdue=overdue,
            limit=limit,
            cursor=cursor,
        ),
    )
    return CaseList(
        items=[case_item(view.as_dict()) for view in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/cases/{case_id}",
    response_model=CaseOut,
    summary="Read one case",
    responses=ETAG,
    name="get_case",  # operation id: cases_get
    openapi_extra=requires(Action.CASE_READ),
)
def read(
    case_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> CaseOut:
    return _case(read_case(session, keyring, settings, principal, case_id), response)


@router.patch(
    "/cases/{case_id}",
    response_model=CaseOut,
    summary="Change some fields of a case (If-Match required)",
    responses={**ETAG, **PRECONDITIONS, **CONFLICT},
    name="update_case",  # operation id: cases_update
    openapi_extra=requires(Action.CASE_UPDATE),
)
def patch(
    case_id: uuid.UUID,
    body: CasePatch,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> CaseOut:
    view = update_case(
        session,
        keyring,
        settings,
        principal,
        case_id,
        body.model_dump(mode="json", exclude_unset=True),
        if_match=if_match,
    )
    return _case(view, response)


@router.delete(
    "/cases/{case_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Erase a case (supervisor): destroy its data key, keep a tombstone",
    description="The body's `reason` is kept (sealed) in the tombstone: do not put names or "
    "other child data in it. Afterwards the case is 404 for everyone.",
    openapi_extra=requires(Action.CASE_ERASE),
)
def erase(
    case_id: uuid.UUID,
    body: Erasure,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> Response:
    erase_case(session, keyring, principal, case_id, body.reason)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/cases/{case_id}/stage",
    response_model=CaseOut,
    summary="Move the case one step along its stages",
    responses={**ETAG, **STALE, **CONFLICT},
    openapi_extra=requires(Action.CASE_STAGE),
)
def stage(
    case_id: uuid.UUID,
    body: StageMove,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> CaseOut:
    view = move_stage(session, keyring, settings, principal, case_id, body.to, if_match=if_match)
    return _case(view, response)


@router.post(
    "/cases/{case_id}/close",
    response_model=CaseOut,
    summary="Close a case in the closure stage (supervisor), saying why",
    description="The body names the reason (`GET /reference/closure-reasons`; `other` needs a "
    "`note`); both are kept encrypted under the case's key and appear in the case's timeline. "
    "In the same transaction, every live referral of the case (`pending_approval`, "
    "`sent`, `accepted`, `in_progress`) is cancelled with the reason `case_closed`, recorded "
    "like any cancel (by this supervisor, when, in the audit log): partner access to the "
    "case's shared fields ends at once, and partner actions on those referrals are 409. "
    "Reopening the case does not revive them; propose new referrals instead. Optional "
    '`If-Match: "<version>"`: stale is 412.',
    responses={**ETAG, **STALE, **CONFLICT},
    openapi_extra=requires(Action.CASE_CLOSE),
)
def close(
    case_id: uuid.UUID,
    body: CloseCase,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> CaseOut:
    view = close_case(
        session,
        keyring,
        settings,
        principal,
        case_id,
        reason=body.reason,
        note=body.note,
        if_match=if_match,
    )
    return _case(view, response)


@router.post(
    "/cases/{case_id}/reopen",
    response_model=CaseOut,
    summary="Reopen a closed case (supervisor); it resumes at follow_up",
    description="Referrals cancelled when the case was closed stay cancelled.",
    responses={**ETAG, **STALE, **CONFLICT},
    openapi_extra=requires(Action.CASE_REOPEN),
)
def reopen(
    case_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> CaseOut:
    view = reopen_case(session, keyring, settings, principal, case_id, if_match=if_match)
    return _case(view, response)


@router.post(
    "/cases/{case_id}/assign",
    response_model=CaseOut,
    summary="Make an active caseworker of the case's agency its owner (supervisor)",
    responses={**ETAG, **STALE},
    openapi_extra=requires(Action.CASE_ASSIGN),
)
def assign(
    case_id: uuid.UUID,
    body: Assignment,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> CaseOut:
    view = assign_case(session, keyring, principal, case_id, body.user_id, if_match=if_match)
    return _case(view, response)


@router.post(
    "/cases/{case_id}/notes",
    response_model=NoteOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a note to a case (encrypted under the case's key)",
    openapi_extra=requires(Action.NOTE_CREATE),
)
def create_note(
    case_id: uuid.UUID,
    body: NoteCreate,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> NoteOut:
    view = add_note(
        session, keyring, principal, case_id, body.text, idempotency_key=idempotency_key
    )
    if view.replayed:
        response.headers[REPLAY_HEADER] = "true"
    return _note(view)


@router.get(
    "/cases/{case_id}/notes",
    response_model=NoteList,
    summary="A case's notes, newest first",
    name="list_notes",  # operation id: cases_list_notes
    openapi_extra=requires(Action.NOTE_LIST),
)
def notes(
    case_id: uuid.UUID,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> NoteList:
    page = list_notes(session, keyring, principal, case_id, limit=limit, cursor=cursor)
    return NoteList(items=[_note(item) for item in page.items], next_cursor=page.next_cursor)
