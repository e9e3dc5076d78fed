"""Routes: partner API clients (OAuth2 client credentials) of an agency."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import KeyringDep, PrincipalDep, SessionDep
from api.openapi import requires
from api.pagination import CursorQuery, LimitQuery
from api.routing import TransactionalRoute
from api.schemas.identity import ApiClientCreate, ApiClientCreated, ApiClientList, ApiClientOut
from models.identity import ApiClient
from services.identity import admin
from services.kit.pages import DEFAULT_LIMIT
from services.policy import Action

router = APIRouter(route_class=TransactionalRoute)
"""Set here: routes are built by this router, so `api_router`'s route_class alone does not
apply (each request's session must commit through `TransactionalRoute`)."""


def client_out(client: ApiClient) -> ApiClientOut:
    return ApiClientOut(
        id=client.id,
        client_id=client.client_id,
        name=client.name,
        agency_id=client.agency_id,
        scopes=client.scopes.split(),
        created_at=client.created_at,
    )


@router.post(
    "/api-clients",
    response_model=ApiClientCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create a partner API client; its secret is shown once",
    openapi_extra=requires(Action.API_CLIENT_CREATE),
)
def create_api_client(
    body: ApiClientCreate,
    principal: PrincipalDep,
    session: SessionDep,
    keyring: KeyringDep,
    response: Response,
) -> ApiClientCreated:
    client, secret = admin.create_api_client(
        session,
        principal,
        keyring,
        agency_id=body.agency_id,
        name=body.name,
        scopes=body.scopes,
    )
    response.headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})
    return ApiClientCreated(**client_out(client).model_dump(), client_secret=secret)


@router.get(
    "/api-clients",
    response_model=ApiClientList,
    summary="List the live API clients you manage",
    openapi_extra=requires(Action.API_CLIENT_LIST),
)
def list_api_clients(
    principal: PrincipalDep,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    agency_id: Annotated[
        uuid.UUID | None,
        Query(description="Only clients of this agency (within those you administer)."),
    ] = None,
) -> ApiClientList:
    page = admin.list_api_clients(
        session, principal, limit=limit, cursor=cursor, agency_id=agency_id
    )
    return ApiClientList(items=[client_out(c) for c in page.items], next_cursor=page.next_cursor)


@router.delete(
    "/api-clients/{api_client_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke an API client; its tokens die at once",
    openapi_extra=requires(Action.API_CLIENT_DELETE),
)
def delete_api_client(
    api_client_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    admin.delete_api_client(session, principal, api_client_id)
