"""The start-up check refuses an API route that would not commit through TransactionalRoute."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI

from api import app as app_module
from api.app import API_PREFIX, _require_transactional
from api.routing import TransactionalRoute
from services.runtime import Runtime


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


def test_the_app_itself_refuses_to_start_with_a_plain_api_route(
    monkeypatch: pytest.MonkeyPatch, runtime: Runtime
) -> None:
    # Through `create_app`, as `haven serve` builds it: the check runs on the installed
    # FastAPI's own route objects (included routers), not only on a hand-built app.
    real_api_router = app_module.api_router

    def with_a_plain_route() -> APIRouter:
        router = real_api_router()
        plain = APIRouter()

        @plain.get("/plain")
        def plain_route() -> dict[str, str]:
            return {}

        router.include_router(plain)
        return router

    monkeypatch.setattr(app_module, "api_router", with_a_plain_route)
    with pytest.raises(RuntimeError, match=f"{API_PREFIX}/plain must be declared"):
        app_module.create_app(runtime=runtime)
    monkeypatch.undo()
    app_module.create_app(runtime=runtime)  # the real routers pass
