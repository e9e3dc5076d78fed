"""The one exception mapper: domain errors and framework errors become problem+json.

Every refusal and every server error is also written to the audit log here, each in its own
transaction, after the request's own transaction has been rolled back (see `api/routing.py`), so
no rollback erases it: access refusals (401, 403, 404) under the action they refused; the others
(409, 412, 422, 428, 429 and request-validation errors) under the route's action, with outcome
`denied` and the status in the detail; a server error (500) under the route's action with outcome
`error`. A request that recorded its own refusal before failing (a wrong password, a throttled
login) is not recorded twice. Refusals of unauthenticated requests are counted per address after
the first of each window (`services.audit.anonymous`); an address over its limit is answered 429.

Anything else a request raises ends in `ErrorBoundaryMiddleware`, which answers it itself (and does
not re-raise it, so it is logged once, by us):
- an infrastructure fault (`services.availability`: database down or stalled, connection limit,
  full disk, lock or statement timeout, keyring unusable) is a 503 with `Retry-After` and the
  problem type `unavailable`, logged as one warning naming the cause;
- anything else is a bug: a 500, logged once with its traceback, with `Connection: close` so the
  client does not reuse a connection the server is about to drop.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.openapi import ACTION_KEY
from api.problems import problem_response
from services import audit, errors
from services.actions import Action
from services.audit.anonymous import Counted
from services.audit.context import current_request
from services.audit.enums import AuditOutcome
from services.availability import Cause, unavailable_cause

log = logging.getLogger("haven.errors")

STATUS_FOR: list[tuple[type[errors.DomainError], int]] = [
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.PreconditionRequired, 428),
    (errors.PreconditionFailed, 412),
    (errors.InvalidInput, 422),
    (errors.RateLimited, 429),
    (errors.InvalidClient, 401),
    (errors.InvalidScope, 400),
    (errors.OAuthError, 400),
    (errors.Unavailable, 503),
]


def status_for(error: errors.DomainError) -> int:
    for kind, status in STATUS_FOR:
        if isinstance(error, kind):
            return status
    return 400


def _request_id(request: Request) -> str | None:
    return correlation_id.get() or request.headers.get("x-request-id")


def _route_action(scope: Scope) -> Action | None:
    """The policy action the matched route performs (its `requires(...)`), if it names one."""
    extra = getattr(scope.get("route"), "openapi_extra", None) or {}
    try:
        return Action(str(extra.get(ACTION_KEY)))
    except ValueError:
        return None


def _principal(scope: Scope) -> Any:
    state = scope.get("state")
    return state.get("principal") if isinstance(state, dict) else None


def _record(
    scope: Scope,
    action: Action,
    status: int,
    *,
    error: errors.DomainError | None = None,
    outcome: AuditOutcome = AuditOutcome.DENIED,
) -> Counted | None:
    """Record one refusal or failure in its own transaction; never raises."""
    route = scope.get("route")
    try:
        return audit.record_refusal(
            scope["app"].state.session_factory,
            _principal(scope),
            action,
            outcome=outcome,
            resource_type=error.resource_type if error else None,
            resource_id=error.resource_id if error else None,
            case_id=error.case_id if error else None,
            detail={
                "status": status,
                "method": scope.get("method"),
                "route": getattr(route, "path", None),
            },
        )
    except Exception:
        # Refusing must not turn into a 500; the failure itself is logged for operators.
        log.exception("could not record a refusal in the audit log")
        return None


def _record_refusal(request: Request, error: errors.Refusal) -> Counted | None:
    action = error.action or (
        Action.AUTH_TOKEN_REJECTED
        if isinstance(error, errors.Unauthenticated)
        else Action.ACCESS_DENIED
    )
    return _record(request.scope, action, status_for(error), error=error)


def _record_other_refusal(
    request: Request, status: int, error: errors.DomainError | None
) -> Counted | None:
    """A refusal that is not about access (409, 412, 422, 428, 429 ...): recorded under the
    route's action unless the request already recorded its own refusal."""
    if current_request().refusal_recorded:
        return None
    principal = getattr(request.state, "principal", None)
    action = (error.action if error else None) or (
        _route_action(request.scope) if principal is not None else None
    )
    return _record(request.scope, action or Action.REQUEST_REFUSED, status, error=error)


def _record_failure(scope: Scope) -> None:
    """A server error (500): recorded with outcome `error` under the route's action."""
    _record(
        scope,
        _route_action(scope) or Action.REQUEST_FAILED,
        500,
        outcome=AuditOutcome.ERROR,
    )


def _too_many(request: Request, retry_after: int) -> Response:
    return problem_response(
        429,
        errors.RateLimited.title,
        "Too many refused requests without a valid token from this address; "
        "retry after the number of seconds in Retry-After.",
        request_id=_request_id(request),
        headers={"Retry-After": str(retry_after)},
    )


async def _record_domain_error(
    request: Request, exc: errors.DomainError, status: int
) -> Counted | None:
    from starlette.concurrency import run_in_threadpool

    if isinstance(exc, errors.Refusal):
        return await run_in_threadpool(_record_refusal, request, exc)
    if isinstance(exc, errors.Unavailable):
        return None  # the infrastructure's fault, logged as such; not the caller's doing
    return await run_in_threadpool(_record_other_refusal, request, status, exc)


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, errors.DomainError):  # registered for DomainError only
        raise exc
    status = status_for(exc)
    counted = await _record_domain_error(request, exc, status)
    if counted is not None and counted.retry_after is not None:
        return _too_many(request, counted.retry_after)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, errors.InvalidInput):
        extra["errors"] = [{"loc": list(p.loc), "msg": p.msg} for p in exc.problems]
    if isinstance(exc, errors.StageGateClosed):
        extra["missing"] = exc.missing
    if isinstance(exc, errors.OAuthError):
        extra["error"] = exc.error
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, errors.Unavailable):
        return unavailable_response(request.scope, exc.cause, type(exc).__name__)
    return problem_response(
        status, exc.title, exc.detail, request_id=_request_id(request), headers=headers, **extra
    )


_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
UNEXPECTED_FIELD = "(unexpected field)"


def _loc(raw: tuple[Any, ...]) -> list[str | int]:
    # A location part is a field name we declared, an index, or, for a field we did not
    # expect, a key the client chose: echo such a key only when it looks like a field name,
    # since a client may have put a child's name there.
    return [
        part
        if isinstance(part, int)
        else (str(part) if _SAFE_NAME.match(str(part)) else UNEXPECTED_FIELD)
        for part in raw
    ]


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type")
    if kind == "json_invalid":
        return "The body is not valid JSON."
    if kind in ("model_attributes_type", "dict_type") and tuple(error.get("loc", ())) == ("body",):
        return "The body must be a JSON object, sent with Content-Type: application/json."
    return str(error.get("msg", ""))


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):
        raise exc
    from starlette.concurrency import run_in_threadpool

    counted = await run_in_threadpool(_record_other_refusal, request, 422, None)
    if counted is not None and counted.retry_after is not None:
        return _too_many(request, counted.retry_after)
    # Only location and message: pydantic's `input` would echo sensitive values back.
    items = [{"loc": _loc(tuple(e.get("loc", ()))), "msg": _message(e)} for e in exc.errors()]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        detail = "The body is not valid JSON."
    else:
        names = [".".join(str(p) for p in item["loc"]) for item in items]
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        detail = f"The request has invalid fields: {shown}." if names else "The request is invalid."
    return problem_response(
        422, "Invalid input", detail, request_id=_request_id(request), errors=items
    )


async def http_error_handler(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):
        raise exc
    titles = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}
    detail = exc.detail if isinstance(exc.detail, str) else "The request failed."
    if exc.status_code == 404:
        detail = "No such resource."
    return problem_response(
        exc.status_code,
        titles.get(exc.status_code, "Request failed"),
        detail,
        request_id=_request_id(request),
        headers=dict(exc.headers or {}),
    )


def unavailable_response(scope: Scope, cause: Cause, error: str) -> Response:
    """The 503 for an infrastructure fault, logged once (a warning naming the cause, no
    traceback: the fault is outside the code)."""
    request_id = correlation_id.get()
    route = scope.get("route")
    log.warning(
        "service temporarily unavailable",
        extra={
            "cause": cause.name,
            "error": error,
            "route": getattr(route, "path", None),
            "request_id": request_id,
        },
    )
    return problem_response(
        503,
        errors.Unavailable.title,
        f"{cause.detail} Retry after the number of seconds in Retry-After.",
        request_id=request_id,
        headers={"Retry-After": str(cause.retry_after_seconds)},
        cause=cause.name,
    )


def internal_error_response(scope: Scope, exc: Exception) -> Response:
    request_id = correlation_id.get()
    route = scope.get("route")
    log.error(
        "unhandled error",
        exc_info=exc,
        extra={"request_id": request_id, "route": getattr(route, "path", None)},
    )
    # The connection may be in any state after a bug: tell the client not to reuse it.
    return problem_response(
        500,
        "Internal error",
        "Something went wrong on our side. Quote the request id when you report it.",
        request_id=request_id,
        headers={"Connection": "close"},
    )


class ErrorBoundaryMiddleware:
    """Answer every exception that no handler mapped: 503 for an infrastructure fault, 500
    otherwise; logged once, here. Sits inside the request-id and access-log middleware, so the
    answer carries the request id and the access log sees its status.

    `reraise` (tests only) raises the exception again after answering, so a test client built
    with `raise_server_exceptions=True` still shows a bug's traceback."""

    def __init__(self, app: ASGIApp, *, reraise: bool = False) -> None:
        self.app = app
        self.reraise = reraise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            cause = unavailable_cause(exc)
            if cause is not None:
                response = unavailable_response(scope, cause, type(exc).__name__)
            else:
                response = internal_error_response(scope, exc)
                from starlette.concurrency import run_in_threadpool

                await run_in_threadpool(_record_failure, scope)
            if started:
                # Half an answer is on the wire; the server must drop the connection.
                raise
            await response(scope, receive, send)
            if self.reraise and cause is None:
                raise


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
