"""Optimistic concurrency: `If-Match: "<version>"` on every write to a case."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from models.cases import Case
from services.errors import PreconditionFailed, PreconditionRequired

_ETAG = re.compile(r'\s*(?:W/)?"?([0-9]{1,9})"?\s*', re.ASCII)
"""ASCII digits only (`\\d` would take other scripts' digits), at most 9: a version never gets
near, and a longer one would overflow the database's integer."""


def parse_if_match(value: str | None, *, required: bool) -> int | None:
    """The version named by an If-Match header; 428 when required and absent, 412 if garbled."""
    if value is None or not value.strip():
        if required:
            raise PreconditionRequired(
                "This change needs an If-Match header with the version you read, "
                'e.g. If-Match: "3".'
            )
        return None
    match = _ETAG.fullmatch(value)
    if match is None:
        raise PreconditionFailed(
            'If-Match must name one version as the ETag you read, e.g. If-Match: "3".'
        )
    return int(match.group(1))


def check_version(case: Case, expected: int | None) -> None:
    if expected is not None and case.version != expected:
        raise PreconditionFailed(
            f"The case changed since you read it (now version {case.version}); read it again."
        )


def flush_case(session: Session) -> None:
    """Flush a case change; a concurrent writer that got there first becomes a 412."""
    try:
        session.flush()
    except StaleDataError as error:
        raise PreconditionFailed(
            "The case changed while you were saving; read it again."
        ) from error
