"""RFC 9457 problem details: the body every error answer uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    """One invalid field of the request."""

    loc: list[str | int] = Field(
        description="Where: `body`, `query`, `path` or `header`, then the field's path "
        "(names and list indexes).",
        examples=[["body", "child", "given_name"]],
    )
    msg: str = Field(description="What is wrong with it (never the value sent).")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = Field(
        default="about:blank",
        description="The kind of problem: a URI reference to a page Haven serves that "
        "describes it (`/problems/<slug>`, relative to this server).",
        examples=["/problems/not-found"],
    )
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code of this answer.")
    detail: str = Field(description="What went wrong this time, for a person to read.")
    instance: str | None = Field(default=None, description="Reserved; not used by Haven.")
    request_id: str | None = Field(
        default=None, description="The request's `X-Request-ID`: quote it when reporting."
    )
    errors: list[FieldError] | None = Field(
        default=None, description="On 422: every invalid field of the request, not only the first."
    )
    error: str | None = Field(
        default=None, description="RFC 6749 error code, on the OAuth token endpoint only."
    )
    cause: str | None = Field(
        default=None,
        description="On a 503 only: which fault made the service unavailable "
        "(e.g. `database_unreachable`).",
    )


@dataclass(frozen=True)
class ProblemType:
    status: int
    slug: str
    title: str
    description: str
    """What it means and what the client should do; served as the problem type's page."""

    @property
    def uri(self) -> str:
        return f"{PROBLEM_PATH}/{self.slug}"


PROBLEM_PATH = "/problems"
"""Where Haven serves one page per problem type; `type` URIs are relative to the server, so
they resolve to the right host behind any proxy."""

PROBLEM_TYPE_LIST = (
    ProblemType(
        400,
        "bad-request",
        "Bad request",
        "The request could not be understood as sent, or (on `POST /api/v1/auth/token`) an "
        "OAuth2 error such as `invalid_scope`, named in the `error` member. Fix the request; "
        "sending it again unchanged gives the same answer.",
    ),
    ProblemType(
        401,
        "unauthenticated",
        "Not authenticated",
        "No bearer token, or it is invalid, expired, revoked or idle for too long; at the "
        "login and token endpoints, wrong credentials (the same answer for unknown users). "
        "Log in again (`POST /api/v1/auth/login`) or fetch a new client token.",
    ),
    ProblemType(
        403,
        "forbidden",
        "Forbidden",
        "Your role or your client's scopes never allow this action, whatever the record; or "
        "your token is only good for first-login steps (see `GET /api/v1/auth/me`). The refusal "
        "is recorded in the audit log.",
    ),
    ProblemType(
        404,
        "not-found",
        "Not found",
        "No such record, or one you may not see: Haven answers the same in both cases so "
        "that nobody can learn that a record exists. The attempt is recorded in the audit log.",
    ),
    ProblemType(
        405,
        "method-not-allowed",
        "Method not allowed",
        "This path exists but not with this HTTP method; see `/docs` for the operations.",
    ),
    ProblemType(
        409,
        "conflict",
        "Conflict",
        "The record's state does not allow this (a referral that has moved on, a stage step "
        "that is not the next one, a taken name) or it changed meanwhile. Nothing was "
        "changed: read the record again and decide.",
    ),
    ProblemType(
        412,
        "precondition-failed",
        "Precondition failed",
        "`If-Match` names a version that is no longer current: someone changed the record "
        "since you read it. Read it again and re-apply your change.",
    ),
    ProblemType(
        413,
        "payload-too-large",
        "Payload too large",
        "The request body is larger than the server accepts (`HAVEN_MAX_BODY_BYTES`).",
    ),
    ProblemType(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        "Send the body as `application/json` (forms only where the operation says so).",
    ),
    ProblemType(
        422,
        "validation-error",
        "Invalid input",
        "Some fields are invalid: `errors` lists every one of them (its location and what is "
        "wrong), never the values sent. Nothing was written.",
    ),
    ProblemType(
        428,
        "precondition-required",
        "Precondition required",
        "This change needs `If-Match` with the version (ETag) you read, so that it cannot "
        "overwrite someone else's change unseen.",
    ),
    ProblemType(
        429,
        "too-many-requests",
        "Too many requests",
        "Too many failed attempts (per account or per address); wait the seconds given in "
        "`Retry-After`.",
    ),
    ProblemType(
        500,
        "internal-error",
        "Internal error",
        "Something went wrong on the server's side; nothing was half-written. Quote the "
        "`request_id` when you report it.",
    ),
    ProblemType(
        503,
        "unavailable",
        "Service unavailable",
        "Haven cannot reach its database (or it is not migrated) just now. Try again later; "
        "operators see why in the log and at `/ready`.",
    ),
)
PROBLEM_TYPES: dict[int, ProblemType] = {p.status: p for p in PROBLEM_TYPE_LIST}
PROBLEM_TYPES_BY_SLUG: dict[str, ProblemType] = {p.slug: p for p in PROBLEM_TYPE_LIST}


def problem_type_uri(status: int) -> str:
    known = PROBLEM_TYPES.get(status)
    return known.uri if known else "about:blank"


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type_uri(status),
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
