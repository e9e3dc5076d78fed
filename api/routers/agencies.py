"""Routes: agencies (system administrators create them; all staff may list them)."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import PrincipalDep, SessionDep
from api.openapi import requires
from api.pagination import CursorQuery, LimitQuery
from api.problems import PROBLEM_MEDIA_TYPE, Problem
from api.routing import TransactionalRoute
from api.schemas.identity import AgencyCreate, AgencyList, AgencyOut
from services.identity import admin
from services.kit.pages import DEFAULT_LIMIT
from services.policy import Action

router = APIRouter(route_class=TransactionalRoute)
"""Set here: routes are built by this router, so `api_router`'s route_class alone does not
apply (each request's session must commit through `TransactionalRoute`)."""


@router.post(
    "/agencies",
    response_model=AgencyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an agency (system_admin)",
    responses={
        409: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": "An agency with that name exists",
        }
    },
    openapi_extra=requires(Action.AGENCY_CREATE),
)
def create_agency(body: AgencyCreate, principal: PrincipalDep, session: SessionDep) -> AgencyOut:
    agency = admin.create_agency(session, principal, name=body.name)
    return AgencyOut(id=agency.id, name=agency.name)


@router.get(
    "/agencies",
    response_model=AgencyList,
    summary="List agencies, by name",
    openapi_extra=requires(Action.AGENCY_LIST),
)
def list_agencies(
    principal: PrincipalDep,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> AgencyList:
    page = admin.list_agencies(session, principal, limit=limit, cursor=cursor)
    return AgencyList(
        items=[AgencyOut(id=a.id, name=a.name) for a in page.items], next_cursor=page.next_cursor
    )
