"""Routes: reference data (`GET /reference/concerns`)."""

from __future__ import annotations

from fastapi import APIRouter, Header

from api.deps import PrincipalDep
from api.openapi import requires
from api.routing import TransactionalRoute
from api.schemas.cases import ConcernLabels, ConcernList, ConcernOut
from services.cases.reference import list_concerns
from services.policy import Action

router = APIRouter(route_class=TransactionalRoute)
"""Set here: `include_router` keeps each route's own class, so the parent's is not enough."""


def _prefers_arabic(accept_language: str | None) -> bool:
    if not accept_language:
        return False
    first = accept_language.split(",")[0].split(";")[0].strip().lower()
    return first == "ar" or first.startswith("ar-")


@router.get(
    "/reference/concerns",
    response_model=ConcernList,
    summary="Protection-concern codes, with English and Arabic labels",
    openapi_extra=requires(Action.REFERENCE_READ),
)
def concerns(
    principal: PrincipalDep,
    accept_language: str | None = Header(default=None, alias="Accept-Language"),
) -> ConcernList:
    arabic = _prefers_arabic(accept_language)
    return ConcernList(
        items=[
            ConcernOut(
                code=c.code,
                label=c.label_ar if arabic else c.label_en,
                labels=ConcernLabels(en=c.label_en, ar=c.label_ar),
            )
            for c in list_concerns(principal)
        ]
    )
