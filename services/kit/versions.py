"""Optimistic concurrency for every versioned record: `version`, `ETag`, `If-Match`.

A record carries `version` (1 when created, +1 on every change) and is served with
`ETag: "<version>"`. A write may send `If-Match` with the ETag it read; each kind of record
declares once how it answers, as a `Versioned`:

    CASE_VERSIONS = Versioned("case", stale=PreconditionFailed)
    version = CASE_VERSIONS.parse_if_match(if_match, required=True)   # 428 when absent
    CASE_VERSIONS.check(case.version, version)                        # stale: 412

What is shared: one header grammar (one version of at most 9 ASCII digits, optionally quoted or
weak), one stale-version answer ("The case changed since version 3 (it is now version 4); read
it again."). What each kind of record chooses: the status of a stale version (`stale`: 412
`PreconditionFailed`, the contract's answer for `PATCH /cases/{id}`, or 409 `Conflict`, which
referral actions answer because the caller must decide again) and of a malformed header
(`malformed`: 412, or 422 naming `If-Match`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from services.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
)

IF_MATCH_LOC: tuple[str | int, ...] = ("header", "If-Match")
_ETAG = re.compile(r'\s*(?:W/)?"?([0-9]{1,9})"?\s*', re.ASCII)
"""One version as an ETag: ASCII digits only (`\\d` would take other scripts' digits), at most 9
(a version never gets near; a longer one would overflow the database's integer)."""
MALFORMED = (
    "If-Match must name one version: the ETag of your last read, sent back as it came (If-Match: "
    '"<version>").'
)


def etag(version: int) -> str:
    """The `ETag` header value of a record at `version`."""
    return f'"{version}"'


@dataclass(frozen=True)
class Versioned:
    """How one kind of record (`name`: "case", "referral", ...) answers `If-Match`."""

    name: str
    stale: type[PreconditionFailed] | type[Conflict] = PreconditionFailed
    """The error of a stale version: 412 (`PreconditionFailed`) or 409 (`Conflict`)."""
    malformed: type[PreconditionFailed] | type[InvalidInput] = PreconditionFailed
    """The error of a header that is not one version: 412, or 422 naming `If-Match`."""

    def parse_if_match(self, value: str | None, *, required: bool) -> int | None:
        """The version an `If-Match` header names; None when absent and not `required`.

        Absent but required: 428 (`PreconditionRequired`). Not one version: `malformed`."""
        if value is None or not value.strip():
            if required:
                raise PreconditionRequired(
                    "This change needs an If-Match header with the version you read: send back "
                    'the ETag of your last read of this record (If-Match: "<version>").'
                )
            return None
        match = _ETAG.fullmatch(value)
        if match is None:
            if self.malformed is InvalidInput:
                raise InvalidInput.field(IF_MATCH_LOC, MALFORMED)
            raise PreconditionFailed(MALFORMED)
        return int(match.group(1))

    def stale_version(self, seen: int | None, current: int | None = None) -> DomainError:
        """The one answer to a write on a version that is no longer current."""
        since = f"since version {seen}" if seen is not None else "while you were saving"
        now = f" (it is now version {current})" if current is not None else ""
        return self.stale(f"The {self.name} changed {since}{now}; read it again.")

    def check(self, current: int, expected: int | None) -> None:
        """Raise the stale-version answer unless `expected` (when given) is `current`."""
        if expected is not None and current != expected:
            raise self.stale_version(expected, current)

    def flush(self, session: Session) -> None:
        """Flush a change of a record whose model has a `version_id_col`: a concurrent writer
        that committed first makes the UPDATE match no row, which is the stale answer too."""
        try:
            session.flush()
        except StaleDataError as error:
            raise self.stale_version(None) from error
