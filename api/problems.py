"""RFC 9457 problem details: the body every error answer uses."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None
    error: str | None = None
    """RFC 6749 error code, on the OAuth token endpoint only."""
    cause: str | None = None
    """On a 503 only: which fault made the service unavailable (e.g. `database_unreachable`)."""


PROBLEM_TYPES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    428: "precondition-required",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    slug = PROBLEM_TYPES.get(status)
    body: dict[str, Any] = {
        "type": f"https://haven.example/problems/{slug}" if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request_id:
        body["request_id"] = request_id
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


# Shown in OpenAPI on every operation, so partners see the error shape.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": desc}
    for code, desc in {
        401: "Missing, invalid, expired or revoked token",
        403: "The caller's role or scopes never allow this action",
        404: "Not found, or not visible to the caller",
        422: "Invalid input; `errors` names each failing field",
        503: "Temporarily unavailable (database, disk or keyring); retry after `Retry-After`"
        " seconds (with the same Idempotency-Key, where the operation takes one)",
    }.items()
}
