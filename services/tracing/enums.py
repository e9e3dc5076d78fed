"""The value sets of family tracing (one definition each; the API schemas use these)."""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    OPEN = "open"
    MATCHED = "matched"
    REUNIFIED = "reunified"
    CLOSED = "closed"


class MatchStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class RequestEvent(StrEnum):
    CONFIRM = "confirm"
    UNCONFIRM = "unconfirm"
    REUNIFY = "reunify"
    CLOSE = "close"


class MatchEvent(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"


class ReunifiedWith(StrEnum):
    PARENTS = "parents"
    RELATIVES = "relatives"
    OTHER = "other"


class MatchFieldResult(StrEnum):
    MATCH = "match"
    PARTIAL = "partial"
    MISMATCH = "mismatch"
    UNKNOWN = "unknown"


class MatchLabel(StrEnum):
    LIKELY = "likely"
    POSSIBLE = "possible"
