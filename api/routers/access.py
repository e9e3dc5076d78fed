"""Routes: need-to-know. A restricted case's access list, break-glass access and its review,
and bulk-read alerts."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from api.deps import KeyringDep, PrincipalDep, SessionDep
from api.openapi import requires
from api.routing import TransactionalRoute
from api.schemas.access import AccessEntryOut, AccessGrant, AccessList
from services.oversight.access_list import AccessEntry, grant_access, list_access, revoke_access
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
def access_list(
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
def grant(
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
def revoke(
    case_id: uuid.UUID, user_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Response:
    revoke_access(session, principal, case_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
