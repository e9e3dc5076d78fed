"""The start-up check refuses an API route that would not commit through TransactionalRoute."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI

from api.app import API_PREFIX, _require_transactional
from api.routing import TransactionalRoute


def _app(router: APIRouter) -> FastAPI:
    @router.get("/thing")
    def thing() -> dict[str, str]:
        return {}

    app = FastAPI()
    parent = APIRouter(prefix=API_PREFIX, route_class=TransactionalRoute)
    parent.include_router(router)
    app.include_router(parent)
    return app


def test_a_plain_route_under_the_api_prefix_stops_the_start() -> None:
    with pytest.raises(RuntimeError, match="TransactionalRoute"):
        _require_transactional(_app(APIRouter()))


def test_a_transactional_route_passes() -> None:
    _require_transactional(_app(APIRouter(route_class=TransactionalRoute)))
