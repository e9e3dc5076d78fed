"""Routes: need-to-know. A restricted case's access list, break-glass access and its review,
and bulk-read alerts (one router: the three are one subject for the people who use them)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import KeyringDep, PrincipalDep, SessionDep, SettingsDep
from api.openapi import requires
from api.pagination import CursorQuery, LimitQuery
from api.routing import TransactionalRoute
from api.schemas.access import (
    AccessEntryOut,
    AccessGrant,
    AccessList,
    AlertClear,
    AlertList,
    AlertOut,
    BreakGlassCase,
    BreakGlassIn,
    BreakGlassList,
    BreakGlassOut,
    ReviewIn,
)
from services.alerts.service import AlertView, clear_alert
from services.alerts.service import list_alerts as alerts_page
from services.kit.pages import DEFAULT_LIMIT
from services.oversight.access_list import AccessEntry, grant_access, list_access, revoke_access
from services.oversight.break_glass import BreakGlassView, list_uses, review_use
from services.oversight.break_glass import break_glass as open_with_break_glass
from services.policy import Action

router = APIRouter(route_class=TransactionalRoute)
"""Set here: `include_router` keeps each route's own class, so the parent's is not enough."""


def _entry(entry: AccessEntry) -> AccessEntryOut:
    return AccessEntryOut(
        case_id=entry.case_id,
        user_id=entry.user_id,
        username=entry.username,
        role=entry.role,
        added_by=entry.added_by,
        added_at=entry.added_at,
        reason=entry.reason,
    )


@router.get(
    "/cases/{case_id}/access-list",
    response_model=AccessList,
    summary="Who besides the owner reads the case (its access list)",
    description="Anyone who may read the case sees its list. On a restricted case these users "
    "and the owner are the only readers; a listed caseworker also reads an unrestricted case "
    "it does not own.",
    openapi_extra=requires(Action.CASE_ACCESS_LIST),
)
def list_case_access(
    case_id: uuid.UUID, session: SessionDep, keyring: KeyringDep, principal: PrincipalDep
) -> AccessList:
    entries = list_access(session, keyring, principal, case_id)
    return AccessList(items=[_entry(entry) for entry in entries])


@router.post(
    "/cases/{case_id}/access-list",
    response_model=AccessEntryOut,
    status_code=status.HTTP_201_CREATED,
    summary="Put a colleague on the case's access list (owner or supervisor)",
    description="The user must be an active caseworker or supervisor of the case's agency "
    "(anyone else is 404). Listing someone already listed answers 200 with the existing entry. "
    "Audited as `case.access_grant`.",
    responses={200: {"description": "Already listed: the existing entry"}},
    openapi_extra=requires(Action.CASE_ACCESS_GRANT),
)
def grant_case_access(
    case_id: uuid.UUID,
    body: AccessGrant,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> AccessEntryOut:
    entry = grant_access(session, keyring, principal, case_id, body.user_id, body.reason)
    if not entry.created:
        response.status_code = status.HTTP_200_OK
    return _entry(entry)


@router.delete(
    "/cases/{case_id}/access-list/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Take a user off the case's access list (owner or supervisor)",
    description="Audited as `case.access_revoke`. A user not on the list is 404.",
    openapi_extra=requires(Action.CASE_ACCESS_REVOKE),
)
def revoke_case_access(
    case_id: uuid.UUID, user_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Response:
    revoke_access(session, principal, case_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _use(view: BreakGlassView) -> BreakGlassOut:
    return BreakGlassOut.model_validate(view, from_attributes=True)


@router.post(
    "/cases/{case_id}/break-glass",
    response_model=BreakGlassCase,
    summary="Read a restricted case you are not given, for 60 minutes, saying why (supervisor)",
    description="For a supervisor of the case's agency who is neither its owner nor on its "
    "access list. Answers the case, and for 60 minutes the case and everything under it read "
    "as if you were listed. Audited as `case.break_glass`; the use is listed for review "
    "(`GET /break-glass`) by auditors and the agency's other supervisors. A case you may "
    "already read (not restricted, or you are listed, or an earlier access still runs) is 409.",
    responses={409: {"description": "You may already read the case"}},
    openapi_extra=requires(Action.CASE_BREAK_GLASS),
)
def break_glass(
    case_id: uuid.UUID,
    body: BreakGlassIn,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> BreakGlassCase:
    broken = open_with_break_glass(session, keyring, settings, principal, case_id, body.reason)
    response.headers["ETag"] = broken.case.etag
    return BreakGlassCase.model_validate({**broken.case.as_dict(), "break_glass": _use(broken.use)})


@router.get(
    "/break-glass",
    response_model=BreakGlassList,
    summary="Break-glass uses, newest first (auditor: every agency; supervisor: its own)",
    description="`overdue=true`: only uses nobody has reviewed within "
    "`HAVEN_BREAK_GLASS_REVIEW_HOURS` of their start; `reviewed=false`: every use still "
    "awaiting a review.",
    openapi_extra=requires(Action.BREAK_GLASS_LIST),
)
def list_break_glass(
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    overdue: Annotated[
        bool | None, Query(description="Only overdue uses (true) or only the others (false).")
    ] = None,
    reviewed: Annotated[
        bool | None, Query(description="Only reviewed uses (true) or only unreviewed (false).")
    ] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> BreakGlassList:
    page = list_uses(
        session,
        keyring,
        settings,
        principal,
        overdue=overdue,
        reviewed=reviewed,
        limit=limit,
        cursor=cursor,
    )
    return BreakGlassList(items=[_use(item) for item in page.items], next_cursor=page.next_cursor)


@router.post(
    "/break-glass/{break_glass_id}/review",
    response_model=BreakGlassOut,
    summary="Review a break-glass use (an auditor, or a supervisor other than its user)",
    description="Records who reviewed it, when, and the note (sealed at rest); audited as "
    "`break_glass.review`. The supervisor who broke the glass may not review its own use "
    "(403); a use already reviewed is 409.",
    responses={409: {"description": "Already reviewed"}},
    openapi_extra=requires(Action.BREAK_GLASS_REVIEW),
)
def review(
    break_glass_id: uuid.UUID,
    body: ReviewIn,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> BreakGlassOut:
    return _use(review_use(session, keyring, settings, principal, break_glass_id, body.note))


def _alert(view: AlertView) -> AlertOut:
    return AlertOut.model_validate(view, from_attributes=True)


@router.get(
    "/alerts",
    response_model=AlertList,
    summary="Bulk-read alerts, newest first (supervisor: its agency; auditor: every agency)",
    description="A `bulk_read` alert is raised once per hour per reader when a staff user opens "
    "more distinct cases it does not own than `HAVEN_BULK_READ_LIMIT` (default 30) within an "
    "hour, or a partner client more distinct referrals than `HAVEN_BULK_READ_CLIENT_LIMIT`. "
    "`cleared=false` lists those still open.",
    openapi_extra=requires(Action.ALERT_LIST),
)
def list_alerts(
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
    cleared: Annotated[
        bool | None, Query(description="Only cleared alerts (true) or only open ones (false).")
    ] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> AlertList:
    page = alerts_page(session, keyring, principal, cleared=cleared, limit=limit, cursor=cursor)
    return AlertList(items=[_alert(item) for item in page.items], next_cursor=page.next_cursor)


@router.post(
    "/alerts/{alert_id}/clear",
    response_model=AlertOut,
    summary="Clear an alert, saying what was found (a supervisor of the reader's agency)",
    description="Lifts the suspension a suspending alert put on the reader. Audited as "
    "`alert.clear`; the note is sealed at rest. The reader itself may not clear an alert about "
    "it (403); an alert already cleared is 409.",
    responses={409: {"description": "Already cleared"}},
    openapi_extra=requires(Action.ALERT_CLEAR),
)
def clear(
    alert_id: uuid.UUID,
    body: AlertClear,
    session: SessionDep,
    keyring: KeyringDep,
    principal: PrincipalDep,
) -> AlertOut:
    return _alert(clear_alert(session, keyring, principal, alert_id, body.note))
