"""Routes: staff users (system admins: any agency; agency admins: their own agency only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status

from api.deps import KeyringDep, PrincipalDep, SessionDep
from api.openapi import requires
from api.pagination import CursorQuery, LimitQuery
from api.problems import PROBLEM_MEDIA_TYPE, Problem
from api.routing import TransactionalRoute
from api.schemas.identity import (
    PasswordResetRequest,
    PasswordResetResponse,
    UserCreate,
    UserList,
    UserOut,
    UserUpdate,
)
from models.identity import User
from services.errors import InvalidInput
from services.identity import admin
from services.identity.enums import Role
from services.kit.pages import DEFAULT_LIMIT
from services.policy import Action

router = APIRouter(route_class=TransactionalRoute)
"""Set here: routes are built by this router, so `api_router`'s route_class alone does not
apply (each request's session must commit through `TransactionalRoute`)."""

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": "Conflict"}
}


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        role=user.role,
        agency_id=user.agency_id,
        is_active=user.is_active,
        mfa_enabled=user.totp_enabled_at is not None,
        must_change_password=user.must_change_password,
        pending_approval=user.pending_approval,
        created_at=user.created_at,
    )


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a staff user",
    responses={409: {**CONFLICT[409], "description": "The username is taken"}},
    openapi_extra=requires(Action.USER_CREATE),
)
def create_user(body: UserCreate, principal: PrincipalDep, session: SessionDep) -> UserOut:
    user = admin.create_user(
        session,
        principal,
        username=body.username,
        password=body.password,
        role=body.role,
        agency_id=body.agency_id,
        must_change_password=body.must_change_password,
    )
    return user_out(user)


@router.get(
    "/users",
    response_model=UserList,
    summary="List the users you administer (supervisors: accounts waiting for approval)",
    openapi_extra=requires(Action.USER_LIST),
)
def list_users(
    principal: PrincipalDep,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    agency_id: Annotated[
        uuid.UUID | None,
        Query(description="Only users of this agency (within those you administer)."),
    ] = None,
    role: Annotated[Role | None, Query(description="Only users with this role.")] = None,
    pending_approval: Annotated[
        bool | None,
        Query(
            description="Only accounts waiting for approval (true) or only the others (false). "
            "A supervisor sees only its agency's accounts waiting for approval, whatever this says."
        ),
    ] = None,
) -> UserList:
    page = admin.list_users(
        session,
        principal,
        limit=limit,
        cursor=cursor,
        agency_id=agency_id,
        role=role,
        pending_approval=pending_approval,
    )
    return UserList(items=[user_out(u) for u in page.items], next_cursor=page.next_cursor)


@router.get(
    "/users/{user_id}",
    response_model=UserOut,
    summary="One user",
    openapi_extra=requires(Action.USER_READ),
)
def get_user(user_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> UserOut:
    return user_out(admin.get_user(session, principal, user_id))


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    summary="Deactivate or reactivate a user, or change the role; deactivation kills tokens",
    responses=CONFLICT,
    openapi_extra=requires(Action.USER_UPDATE),
)
def update_user(
    user_id: uuid.UUID, body: UserUpdate, principal: PrincipalDep, session: SessionDep
) -> UserOut:
    if body.is_active is None and body.role is None:
        raise InvalidInput.field(("body",), "give is_active or role")
    user = admin.update_user(session, principal, user_id, is_active=body.is_active, role=body.role)
    return user_out(user)


@router.post(
    "/users/{user_id}/approve",
    response_model=UserOut,
    summary="Approve an agency admin's change to an account that reads case content",
    description="By a supervisor of the user's agency (not the user itself) or a system admin. "
    "Until then the account is `pending_approval` and nobody can log in as it.",
    responses={409: {**CONFLICT[409], "description": "Nothing waits for approval"}},
    openapi_extra=requires(Action.USER_APPROVE),
)
def approve_user(user_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> UserOut:
    return user_out(admin.approve_user(session, principal, user_id))


@router.post(
    "/users/{user_id}/reset-password",
    response_model=PasswordResetResponse,
    summary="Reset a user's password to a temporary one (changed at next login); tokens die",
    responses=CONFLICT,
    openapi_extra=requires(Action.USER_RESET_PASSWORD),
)
def reset_password(
    user_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    keyring: KeyringDep,
    response: Response,
    body: Annotated[PasswordResetRequest | None, Body()] = None,
) -> PasswordResetResponse:
    user, temporary = admin.reset_password(
        session, keyring, principal, user_id, reset_mfa=bool(body and body.reset_mfa)
    )
    response.headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})
    return PasswordResetResponse(user_id=user.id, temporary_password=temporary)
