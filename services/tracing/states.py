"""States of tracing requests and matches, and the moves between them (one table each).

A request is `open` until a supervisor confirms a match (`matched`); reunification ends it
(`reunified`), or it is closed without one (`closed`). Rejecting the only confirmed match puts a
matched request back to `open`. A match is `proposed` by the matcher; a supervisor confirms or
rejects it; a rejected pair is kept, so the matcher never proposes it again.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.errors import Conflict
from services.tracing.enums import (
    MatchEvent,
    MatchStatus,
    RequestEvent,
    RequestStatus,
    ReunifiedWith,
)

OPEN_STATUSES = frozenset({RequestStatus.OPEN, RequestStatus.MATCHED})
"""Requests the matcher still looks for (a new or edited case is matched against these)."""

REQUEST_MOVES: Mapping[tuple[RequestStatus, RequestEvent], RequestStatus] = {
    (RequestStatus.OPEN, RequestEvent.CONFIRM): RequestStatus.MATCHED,
    (RequestStatus.MATCHED, RequestEvent.CONFIRM): RequestStatus.MATCHED,
    (RequestStatus.MATCHED, RequestEvent.UNCONFIRM): RequestStatus.OPEN,
    (RequestStatus.MATCHED, RequestEvent.REUNIFY): RequestStatus.REUNIFIED,
    (RequestStatus.OPEN, RequestEvent.CLOSE): RequestStatus.CLOSED,
    (RequestStatus.MATCHED, RequestEvent.CLOSE): RequestStatus.CLOSED,
}

MATCH_MOVES: Mapping[tuple[MatchStatus, MatchEvent], MatchStatus] = {
    (MatchStatus.PROPOSED, MatchEvent.CONFIRM): MatchStatus.CONFIRMED,
    (MatchStatus.PROPOSED, MatchEvent.REJECT): MatchStatus.REJECTED,
    (MatchStatus.CONFIRMED, MatchEvent.REJECT): MatchStatus.REJECTED,
}

_WHY: Mapping[RequestEvent, str] = {
    RequestEvent.CONFIRM: "A match can be confirmed only while the request is open or matched.",
    RequestEvent.UNCONFIRM: "A confirmed match can be rejected only before reunification.",
    RequestEvent.REUNIFY: "Reunification needs a confirmed match (the request must be matched).",
    RequestEvent.CLOSE: "Only an open or matched request can be closed.",
}


def next_request_status(status: str, event: RequestEvent) -> RequestStatus:
    moved = REQUEST_MOVES.get((RequestStatus(status), event))
    if moved is None:
        raise Conflict(_WHY[event])
    return moved


def next_match_status(status: str, event: MatchEvent) -> MatchStatus:
    moved = MATCH_MOVES.get((MatchStatus(status), event))
    if moved is None:
        raise Conflict(f"A {status} match cannot be {event.value}ed.")
    return moved


__all__ = [
    "MATCH_MOVES",
    "OPEN_STATUSES",
    "REQUEST_MOVES",
    "MatchEvent",
    "MatchStatus",
    "RequestEvent",
    "RequestStatus",
    "ReunifiedWith",
    "next_match_status",
    "next_request_status",
]
