"""The one exception mapper: domain errors and framework errors become problem+json.

Refusals are also written to the audit log here, each in its own transaction, after the
request's own transaction has been rolled back (see `api/routing.py`), so no rollback erases them.
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

from api.problems import problem_response
from services import audit, errors

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
]


def status_for(error: errors.DomainError) -> int:
    for kind, status in STATUS_FOR:
        if isinstance(error, kind):
            return status
    return 400


def _request_id(request: Request) -> str | None:
    return correlation_id.get() or request.headers.get("x-request-id")


def _record_refusal(request: Request, error: errors.Refusal) -> None:
    principal = getattr(request.state, "principal", None)
    action = error.action or (
        "auth.token_rejected" if isinstance(error, errors.Unauthenticated) else "access.denied"
    )
    route = request.scope.get("route")
    try:
        audit.record_refusal(
            request.app.state.session_factory,
            principal,
            action,
            resource_type=error.resource_type,
            resource_id=error.resource_id,
            case_id=error.case_id,
            detail={
                "status": status_for(error),
                "method": request.method,
                "route": getattr(route, "path", None),
            },
        )
    except Exception:
        # Refusing must not turn into a 500; the failure itself is logged for operators.
        log.exception("could not record a refusal in the audit log")


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, errors.DomainError):  # registered for DomainError only
        raise exc
    status = status_for(exc)
    if isinstance(exc, errors.Refusal):
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(_record_refusal, request, exc)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, errors.InvalidInput):
        extra["errors"] = [{"loc": list(p.loc), "msg": p.msg} for p in exc.problems]
    if isinstance(exc, errors.OAuthError):
        extra["error"] = exc.error
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
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


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    request_id = _request_id(request)
    log.error("unhandled error", exc_info=exc, extra={"request_id": request_id})
    # This handler runs outside the request-id middleware, so it sets the header itself.
    return problem_response(
        500,
        "Internal error",
        "Something went wrong on our side. Quote the request id when you report it.",
        request_id=request_id,
        headers={"X-Request-ID": request_id} if request_id else None,
    )


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
