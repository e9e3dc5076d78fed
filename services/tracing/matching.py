"""The matcher, in both directions: which cases may be the child an enquiry describes, and
which open enquiries may be looking for a case's child.

It runs when a tracing request is filed (against every case) and when a case is registered or
its child changes (against every open or matched request). Candidates come from agreeing tokens
(`candidates`), at most 50 are decrypted and scored (`scoring`), and the best 10 at or above the
`possible` score are stored as matches: ids and score only. A pair already decided (confirmed or
rejected) is never touched again, so a rejected pair is never proposed again. Matches are stored
whoever may see them; `matches` lists only those whose both sides the caller may see.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.cases import Case
from models.tracing import CaseTracingToken, TracingMatch, TracingRequest, TracingRequestToken
from services.cases.content import decrypt_document as decrypt_case
from services.config import Settings
from services.crypto import Keyring, load_data_keys
from services.tracing.candidates import find_candidates
from services.tracing.content import decrypt_document
from services.tracing.scoring import POSSIBLE_SCORE, Comparison, Person, birth_years, compare
from services.tracing.states import OPEN_STATUSES, MatchStatus
from services.tracing.tokens import TokenSet, case_parts, request_parts

MAX_MATCHES = 10


def case_person(document: Mapping[str, Any], registered: date) -> Person:
    child = document.get("child") or {}
    return Person(
        case_parts(document),
        child.get("sex"),
        birth_years(child, registered),
        child.get("date_of_birth"),
    )


def request_person(document: Mapping[str, Any], filed: date) -> Person:
    sought = document.get("sought") or {}
    return Person(
        request_parts(document),
        sought.get("sex"),
        birth_years(sought, filed),
        sought.get("date_of_birth"),
    )


def _store(
    session: Session,
    scored: list[tuple[uuid.UUID, uuid.UUID, float]],
    *,
    request_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
) -> int:
    """Keep the best `MAX_MATCHES` proposals of one side; decided pairs stay as they are."""
    scored = sorted(scored, key=lambda item: -item[2])[:MAX_MATCHES]
    owner = (
        TracingMatch.request_id == request_id
        if request_id is not None
        else TracingMatch.case_id == case_id
    )
    existing = {
        (row.request_id, row.case_id): row
        for row in session.scalars(select(TracingMatch).where(owner))
    }
    keep = {(r, c) for r, c, _ in scored}
    stale = [
        key
        for key, row in existing.items()
        if row.status == MatchStatus.PROPOSED and key not in keep
    ]
    for stale_request, stale_case in stale:
        session.execute(
            delete(TracingMatch).where(
                TracingMatch.request_id == stale_request, TracingMatch.case_id == stale_case
            )
        )
    proposed = 0
    now = utcnow()
    for found_request, found_case, score in scored:
        row = existing.get((found_request, found_case))
        if row is None:
            session.add(
                TracingMatch(
                    request_id=found_request,
                    case_id=found_case,
                    score=score,
                    status=MatchStatus.PROPOSED.value,
                    created_at=now,
                    updated_at=now,
                )
            )
            proposed += 1
        elif row.status == MatchStatus.PROPOSED:
            row.score = score
            proposed += 1
    session.flush()
    return proposed


def _decided_cases(session: Session, request_id: uuid.UUID) -> frozenset[uuid.UUID]:
    return frozenset(
        session.scalars(
            select(TracingMatch.case_id).where(
                TracingMatch.request_id == request_id,
                TracingMatch.status != MatchStatus.PROPOSED.value,
            )
        )
    )


@dataclass(frozen=True)
class Ranked:
    """The scored candidates of one query, best first, and how many were decrypted."""

    results: list[tuple[uuid.UUID, Comparison]]
    decrypted: int


def rank_cases(
    session: Session,
    keyring: Keyring,
    query: Person,
    tokens: TokenSet,
    *,
    exclude: frozenset[uuid.UUID] = frozenset(),
) -> Ranked:
    """Cases that may be the child `query` describes: candidates from agreeing tokens, at most
    50 decrypted, compatible ones at or above the `possible` score, best first, at most 10."""
    population = session.scalar(select(func.count()).select_from(Case)) or 0
    candidates = find_candidates(
        session,
        CaseTracingToken,
        CaseTracingToken.case_id,
        tokens,
        population=int(population),
        exclude=exclude,
    )
    if not candidates:
        return Ranked([], 0)
    wanted = [candidate.record_id for candidate in candidates]
    cases = list(session.scalars(select(Case).where(Case.id.in_(wanted))))
    keys = load_data_keys(session, keyring, [case.data_key_id for case in cases])
    scored = []
    for case in cases:
        comparison = compare(
            query, case_person(decrypt_case(keys[case.data_key_id], case), case.created_at.date())
        )
        if comparison.compatible and comparison.score >= POSSIBLE_SCORE:
            scored.append((case.id, comparison))
    scored.sort(key=lambda item: -item[1].score)
    return Ranked(scored[:MAX_MATCHES], len(cases))


def match_request(
    session: Session,
    keyring: Keyring,
    settings: Settings,  # noqa: ARG001  (the listener's and the requests' common signature)
    request: TracingRequest,
    document: Mapping[str, Any],
    tokens: TokenSet,
) -> int:
    """Cases that may be the sought child; stores the proposals, returns how many."""
    ranked = rank_cases(
        session,
        keyring,
        request_person(document, request.created_at.date()),
        tokens,
        exclude=_decided_cases(session, request.id),
    )
    scored = [(request.id, case_id, found.score) for case_id, found in ranked.results]
    return _store(session, scored, request_id=request.id)


def match_case(
    session: Session,
    keyring: Keyring,
    settings: Settings,  # noqa: ARG001  (the listener's and the requests' common signature)
    case: Case,
    document: Mapping[str, Any],
    tokens: TokenSet,
    *,
    new: bool = False,
) -> int:
    """Open tracing requests that may be looking for this child; stores the proposals.

    `new`: the case was registered in this transaction, so it has no match yet, decided or
    proposed: two queries per intake that could only come back empty are skipped."""
    decided: frozenset[uuid.UUID] = (
        frozenset()
        if new
        else frozenset(
            session.scalars(
                select(TracingMatch.request_id).where(
                    TracingMatch.case_id == case.id,
                    TracingMatch.status != MatchStatus.PROPOSED.value,
                )
            )
        )
    )
    open_statuses = sorted(status.value for status in OPEN_STATUSES)

    def population() -> int:
        return int(
            session.scalar(
                select(func.count())
                .select_from(TracingRequest)
                .where(TracingRequest.status.in_(open_statuses))
            )
            or 0
        )

    candidates = find_candidates(
        session,
        TracingRequestToken,
        TracingRequestToken.request_id,
        tokens,
        population=population,
        join=TracingRequest,
        restrict=[TracingRequest.status.in_(open_statuses)],
        exclude=decided,
    )
    if not candidates:
        return 0 if new else _store(session, [], case_id=case.id)
    query = case_person(document, case.created_at.date())
    requests = list(
        session.scalars(
            select(TracingRequest).where(TracingRequest.id.in_([c.record_id for c in candidates]))
        )
    )
    keys = load_data_keys(session, keyring, [request.data_key_id for request in requests])
    scored = []
    for request in requests:
        other = request_person(
            decrypt_document(keys[request.data_key_id], request), request.created_at.date()
        )
        comparison = compare(other, query)
        if comparison.compatible and comparison.score >= POSSIBLE_SCORE:
            scored.append((request.id, case.id, comparison.score))
    return _store(session, scored, case_id=case.id)
