"""The application factory."""

from __future__ import annotations

import re

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import APIRouter, FastAPI
from fastapi.routing import iter_route_contexts
from fastapi_offline import FastAPIOffline
from pydantic import ValidationError

from api.errors import ErrorBoundaryMiddleware, register_error_handlers
from api.middleware import BodySizeLimitMiddleware, NoStoreMiddleware, RequestContextMiddleware
from api.openapi import install_openapi, operation_id
from api.problems import PROBLEM_RESPONSES
from api.routers import (
    access,
    agencies,
    api_clients,
    audit,
    auth,
    cases,
    casework,
    health,
    problems,
    reference,
    referrals,
    tracing,
    users,
)
from api.routing import TransactionalRoute
from services.audit.anonymous import enable_anonymous_summaries, limits_from
from services.config import Settings, format_settings_error
from services.crypto import KeyringError
from services.logs import configure_logging
from services.runtime import Runtime, build_runtime

API_PREFIX = "/api/v1"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

DESCRIPTION = """
Case management for child-protection teams. Every `/api/v1` operation needs a bearer token
(`hvn_…`) from `POST /api/v1/auth/login` (staff) or `POST /api/v1/auth/token` (partner clients,
OAuth2 client credentials), except those two. Errors are RFC 9457 problem details.
"""


def _sane_request_id(value: str) -> bool:
    return bool(_SANE_REQUEST_ID.match(value))


def api_router() -> APIRouter:
    router = APIRouter(
        prefix=API_PREFIX, route_class=TransactionalRoute, responses=PROBLEM_RESPONSES
    )
    for module, tag in (
        (auth, "auth"),
        (agencies, "administration"),
        (users, "administration"),
        (api_clients, "administration"),
        (reference, "reference"),
        (cases, "cases"),
        (casework, "casework"),
        (access, "need-to-know"),
        (referrals, "referrals"),
        (tracing, "tracing"),
        (audit, "audit"),
    ):
        router.include_router(module.router, tags=[tag])
    return router


def _require_transactional(app: FastAPI) -> None:
    """Refuse to start when an API route would not commit through `TransactionalRoute`.

    Included routers are walked to the routes they were declared with (`app.routes` holds the
    included routers themselves, not their routes)."""
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        if path.startswith(API_PREFIX) and not isinstance(route.original_route, TransactionalRoute):
            raise RuntimeError(
                f"{path} must be declared on an APIRouter(route_class=TransactionalRoute)"
            )


def create_app(
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    *,
    reraise_unexpected: bool = False,
) -> FastAPI:
    """The app. `reraise_unexpected` (tests) re-raises a bug after answering 500."""
    if runtime is None:
        if settings is None:
            try:
                settings = Settings()
            except ValidationError as error:
                raise SystemExit(format_settings_error(error)) from None
        try:
            # Unproven is not fatal here: `haven serve` proved the keyring before starting the
            # workers; a worker that exits would be restarted in a loop, so one that cannot prove
            # its keyring yet (database down) or any more refuses key use until it can.
            runtime = build_runtime(settings, prove=False)
        except KeyringError as error:
            raise SystemExit(f"Haven cannot start: {error}") from None
    settings = runtime.settings
    configure_logging(settings.log_level)

    # Swagger UI's assets are served by Haven itself: field deployments often have no internet.
    app = FastAPIOffline(
        title="Haven",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        static_url="/docs-assets",
        swagger_ui_parameters={"persistAuthorization": False, "displayRequestDuration": True},
        generate_unique_id_function=operation_id,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.engine = runtime.engine
    app.state.session_factory = runtime.session_factory
    # Refusals of unauthenticated requests are counted per address, not one audit row each.
    enable_anonymous_summaries(
        runtime.session_factory,
        limits_from(settings.anonymous_window_seconds, settings.anonymous_max_refusals),
    )

    register_error_handlers(app)
    app.include_router(health.router)
    app.include_router(problems.router)
    app.include_router(api_router())
    _require_transactional(app)
    install_openapi(app)

    # Added innermost first: the request id exists before the size check and the context.
    app.add_middleware(ErrorBoundaryMiddleware, reraise=reraise_unexpected)
    app.add_middleware(
        RequestContextMiddleware,
        trust_forwarded_for=settings.trust_forwarded_for,
        proxy_hops=settings.proxy_hops,
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name="X-Request-ID",
        validator=_sane_request_id,
        update_request_header=True,
    )
    app.add_middleware(NoStoreMiddleware, prefix=API_PREFIX)
    return app
