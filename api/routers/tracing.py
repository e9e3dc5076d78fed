"""Routes: family tracing requests, their matches, the supervisor's decision, reunification.

Thin: parse, call one service function, return the declared model. A tracing request carries
`ETag: "<version>"` like a case.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import IfMatchHeader, KeyringDep, PrincipalDep, SessionDep, SettingsDep
from api.routing import TransactionalRoute
from api.schemas.tracing import (
    MatchConfirm,
    MatchList,
    MatchOut,
    MatchReject,
    Reunification,
    TracingClose,
    TracingRequestCreate,
    TracingRequestList,
    TracingRequestOut,
)
from services.tracing.matches import MatchView, decide, list_case_matches, list_request_matches
from services.tracing.requests import (
    RequestView,
    close_request,
    create_request,
    list_requests,
    read_request,
    reunify,
)
from services.tracing.states import MatchEvent, RequestStatus

router = APIRouter(route_class=TransactionalRoute)

Limit = Annotated[int, Query(ge=1, le=200, description="Page size (default 50, max 200).")]
Cursor = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` of the previous page.")
]


def _request(view: RequestView, response: Response) -> TracingRequestOut:
    response.headers["ETag"] = view.etag
    return TracingRequestOut.model_validate(view.as_dict())


def _match(view: MatchView) -> MatchOut:
    return MatchOut(
        case_id=view.case_id,
        tracing_request_id=view.request_id,
        score=view.score,
        label=view.label,
        status=view.status,
        fields=view.fields,
    )


@router.post(
    "/tracing-requests",
    response_model=TracingRequestOut,
    status_code=status.HTTP_201_CREATED,
    summary="File a tracing request (caseworker; becomes the owner); it is matched at once",
)
def create(
    body: TracingRequestCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> TracingRequestOut:
    view = create_request(session, keyring, settings, principal, body.model_dump(mode="json"))
    response.headers["Location"] = f"/api/v1/tracing-requests/{view.request.id}"
    return _request(view, response)


@router.get(
    "/tracing-requests",
    response_model=TracingRequestList,
    summary="List the tracing requests you may see, newest first",
)
def index(
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    status: RequestStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> TracingRequestList:
    page = list_requests(session, keyring, principal, status=status, limit=limit, cursor=cursor)
    return TracingRequestList(
        items=[TracingRequestOut.model_validate(item.as_dict()) for item in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/tracing-requests/{request_id}",
    response_model=TracingRequestOut,
    summary="Read one tracing request",
)
def read(
    request_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> TracingRequestOut:
    return _request(read_request(session, keyring, principal, request_id), response)


@router.get(
    "/tracing-requests/{request_id}/matches",
    response_model=MatchList,
    summary="Potential matches of a tracing request, best first, among cases you may see",
)
def request_matches(
    request_id: uuid.UUID,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> MatchList:
    views = list_request_matches(session, keyring, principal, request_id)
    return MatchList(items=[_match(view) for view in views])


@router.get(
    "/cases/{case_id}/matches",
    response_model=MatchList,
    summary="Tracing requests that may be looking for this child, best first",
)
def case_matches(
    case_id: uuid.UUID,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> MatchList:
    views = list_case_matches(session, keyring, principal, case_id)
    return MatchList(items=[_match(view) for view in views])


@router.post(
    "/tracing-requests/{request_id}/matches/{case_id}/confirm",
    response_model=MatchOut,
    summary="Confirm a match (supervisor): the request becomes `matched`",
)
def confirm(
    request_id: uuid.UUID,
    case_id: uuid.UUID,
    body: MatchConfirm,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> MatchOut:
    view = decide(
        session,
        keyring,
        principal,
        request_id,
        case_id,
        MatchEvent.CONFIRM,
        body.note,
        if_match=if_match,
    )
    return _match(view)


@router.post(
    "/tracing-requests/{request_id}/matches/{case_id}/reject",
    response_model=MatchOut,
    summary="Reject a match (supervisor): the pair is never proposed again",
)
def reject(
    request_id: uuid.UUID,
    case_id: uuid.UUID,
    body: MatchReject,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> MatchOut:
    view = decide(
        session,
        keyring,
        principal,
        request_id,
        case_id,
        MatchEvent.REJECT,
        body.reason,
        if_match=if_match,
    )
    return _match(view)


@router.post(
    "/tracing-requests/{request_id}/reunify",
    response_model=TracingRequestOut,
    summary="Record the reunification (supervisor; needs a confirmed match)",
)
def reunified(
    request_id: uuid.UUID,
    body: Reunification,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> TracingRequestOut:
    view = reunify(
        session,
        keyring,
        principal,
        request_id,
        reunified_on=body.reunified_on,
        reunified_with=body.with_.value,
        note=body.note,
        if_match=if_match,
    )
    return _request(view, response)


@router.post(
    "/tracing-requests/{request_id}/close",
    response_model=TracingRequestOut,
    summary="Close a tracing request without reunification",
)
def close(
    request_id: uuid.UUID,
    body: TracingClose,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    if_match: IfMatchHeader = None,
) -> TracingRequestOut:
    view = close_request(session, keyring, principal, request_id, body.reason, if_match=if_match)
    return _request(view, response)
