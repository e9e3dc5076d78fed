"""Routes: family tracing requests, their matches, the supervisor's decision, reunification.

Thin: parse, call one service function, return the declared model. A tracing request carries
`ETag: "<version>"` like a case.
"""

from __future__ import annotations

import uuid
from typing import Annotated

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
from services.policy import Action
from services.tracing.matches import MatchView, decide
from services.tracing.matches import list_case_matches as matches_of_case
from services.tracing.matches import list_request_matches as matches_of_request
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
    description="Names may be in any script and spelling. The request is encrypted under its own "
    "data key; its names are kept only as keyed, truncated tokens, and it is matched "
    "against every case at once (see its matches). Honours Idempotency-Key: a retry with the "
    "same key and body answers with the first request and `Idempotent-Replayed: true`.",
    responses={201: {"headers": {REPLAY_HEADER: REPLAY_HEADER_DOC}}},
    openapi_extra=requires(Action.TRACING_CREATE),
)
def create(
    body: TracingRequestCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> TracingRequestOut:
    view = create_request(
        session,
        keyring,
        settings,
        principal,
        body.model_dump(mode="json"),
        idempotency_key=idempotency_key,
    )
    response.headers["Location"] = f"/api/v1/tracing-requests/{view.request.id}"
    if view.replayed:
        response.headers[REPLAY_HEADER] = "true"
    return _request(view, response)


@router.get(
    "/tracing-requests",
    response_model=TracingRequestList,
    summary="List the tracing requests you may see, newest first",
    description="A caseworker sees the requests it filed, a supervisor those of its agency. "
    "`status` filters.",
    openapi_extra=requires(Action.TRACING_LIST),
)
def list_tracing_requests(
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    status: Annotated[
        RequestStatus | None,
        Query(description="Only requests in this state: `open`, `matched`, `reunified`, `closed`."),
    ] = None,
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
    description="404 when you may not see it. The `ETag` is the request's version, for `If-Match` "
    "on its actions.",
    openapi_extra=requires(Action.TRACING_READ),
)
def get_tracing_request(
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
    description="At most 10, best first; only cases you may see; rejected pairs are not shown. "
    "`likely` is a calibrated label (measured precision at least 0.95), `possible` "
    "anything else proposed: a supervisor decides.",
    openapi_extra=requires(Action.TRACING_MATCHES),
)
def list_tracing_request_matches(
    request_id: uuid.UUID,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> MatchList:
    views = matches_of_request(session, keyring, principal, request_id)
    return MatchList(items=[_match(view) for view in views])


@router.get(
    "/cases/{case_id}/matches",
    response_model=MatchList,
    summary="Tracing requests that may be looking for this child, best first",
    description="The same as a request's matches, from the case's side, among the tracing "
    "requests you may see.",
    openapi_extra=requires(Action.TRACING_MATCHES),
)
def list_case_matches(
    case_id: uuid.UUID,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> MatchList:
    views = matches_of_case(session, keyring, principal, case_id)
    return MatchList(items=[_match(view) for view in views])


@router.post(
    "/tracing-requests/{request_id}/matches/{case_id}/confirm",
    response_model=MatchOut,
    summary="Confirm a match (supervisor): the request becomes `matched`",
    description="Both the request and the case must be visible to you. Optional `If-Match` with "
    "the request's ETag.",
    openapi_extra=requires(Action.TRACING_CONFIRM),
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
    description="Rejecting the only confirmed match puts a matched request back to `open`. "
    "Optional `If-Match`.",
    openapi_extra=requires(Action.TRACING_REJECT),
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
    description="`matched → reunified`; every confirmed case records the reunification in its "
    "audit trail. 409 without a confirmed match. Optional `If-Match`.",
    openapi_extra=requires(Action.TRACING_REUNIFY),
)
def reunify_tracing_request(
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
    description="`open | matched → closed`, by its owner or a supervisor of its agency. Optional "
    "`If-Match`.",
    openapi_extra=requires(Action.TRACING_CLOSE),
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
