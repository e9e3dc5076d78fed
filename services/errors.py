"""Domain errors. They carry meaning, never an HTTP status: `api/errors.py` maps them.

A refusal (`Unauthenticated`, `Forbidden`, `NotFound`) may name the audit action it refused, so
the mapper can record it in its own transaction after the request's work was rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.availability import Cause

from services.actions import Action


@dataclass(frozen=True)
class FieldProblem:
    loc: tuple[str | int, ...]
    msg: str


class DomainError(Exception):
    """Base class; `detail` is safe to show to the caller (never a sensitive value)."""

    title = "Request failed"

    def __init__(
        self,
        detail: str | None = None,
        *,
        action: Action | None = None,
        resource_type: str | None = None,
        resource_id: object | None = None,
        case_id: object | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.action = action
        self.resource_type = resource_type
        self.resource_id = None if resource_id is None else str(resource_id)
        self.case_id = case_id


class Refusal(DomainError):
    """An access the caller was refused; always audited with outcome `denied`."""


class Unauthenticated(Refusal):
    title = "Authentication required"


class Forbidden(Refusal):
    title = "Not allowed"


class NotFound(Refusal):
    title = "Not found"


class Conflict(DomainError):
    """The resource's state does not allow this (illegal transition, duplicate name...)."""

    title = "Conflict"


class PreconditionRequired(DomainError):
    title = "Precondition required"


class PreconditionFailed(DomainError):
    title = "Precondition failed"


class InvalidInput(DomainError):
    title = "Invalid input"

    def __init__(self, problems: Sequence[FieldProblem], detail: str | None = None) -> None:
        self.problems = list(problems)
        super().__init__(
            detail or "; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems)
        )

    @classmethod
    def field(cls, loc: tuple[str | int, ...], msg: str) -> InvalidInput:
        return cls([FieldProblem(loc, msg)])


class RateLimited(DomainError):
    title = "Too many requests"

    def __init__(self, retry_after_seconds: int, detail: str | None = None) -> None:
        super().__init__(detail or "Too many failed attempts; try again later.")
        self.retry_after_seconds = max(1, int(retry_after_seconds))


class OAuthError(DomainError):
    """RFC 6749 token-endpoint errors; `error` is the RFC's code."""

    error = "invalid_request"


class InvalidClient(OAuthError):
    title = "Invalid client"
    error = "invalid_client"


class InvalidScope(OAuthError):
    title = "Invalid scope"
    error = "invalid_scope"


class UnsupportedGrantType(OAuthError):
    title = "Unsupported grant type"
    error = "unsupported_grant_type"


class Unavailable(DomainError):
    """Haven cannot serve this now for a reason outside the request (see
    `services.availability`): the same request may succeed later. `cause` names the fault."""

    title = "Service temporarily unavailable"

    def __init__(self, cause: Cause) -> None:
        super().__init__(cause.detail)
        self.cause = cause


class StageGateClosed(Conflict):
    """A stage move whose gate is not met; `missing` names what the case still needs."""

    title = "Stage gate not met"

    def __init__(self, detail: str, missing: Sequence[str]) -> None:
        super().__init__(detail)
        self.missing = list(missing)
