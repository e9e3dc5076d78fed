"""Potential matches: the matcher in both directions, listing, a supervisor's decision.

The matcher runs when a tracing request is filed (against every case) and when a case is
registered or its names change (against every open or matched request). Candidates come from
agreeing tokens (`candidates`), at most 50 are decrypted and scored (`scoring`), and the best 10
at or above the `possible` score are stored as matches: ids and score only. A pair already
decided (confirmed or rejected) is never touched again; a rejected pair is never proposed again.

Matches are stored whoever may see them; listing shows only those whose other side the caller
may also see (`policy.case_filter`, `policy.tracing_request_filter`).
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
from services import audit
from services.cases.access import case_data_key, load_visible_case
from services.cases.content import decrypt_document as decrypt_case
from services.config import Settings
from services.crypto import Keyring, decrypt_field, encrypt_field, load_data_keys
from services.errors import NotFound
from services.policy import Action, Principal, case_filter, tracing_request_filter
from services.tracing.candidates import find_candidates
from services.tracing.requests import (
    RESOURCE,
    check_version,
    decrypt_document,
    load_visible_request,
    request_data_key,
)
from services.tracing.scoring import (
    POSSIBLE_SCORE,
    Comparison,
    FieldResult,
    Label,
    Person,
    birth_years,
    compare,
    label_of,
)
from services.tracing.states import (
    OPEN_STATUSES,
    MatchEvent,
    MatchStatus,
    RequestEvent,
    next_match_status,
    next_request_status,
)
from services.tracing.tokens import TokenSet, case_parts, request_parts

MAX_MATCHES = 10
NOTE_TABLE = "tracing_matches"


@dataclass(frozen=True)
class MatchView:
    request_id: uuid.UUID
    case_id: uuid.UUID
    score: float
    label: Label
    status: str
    fields: dict[str, FieldResult]


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
    settings: Settings,
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
    settings: Settings,
    case: Case,
    document: Mapping[str, Any],
    tokens: TokenSet,
) -> int:
    """Open tracing requests that may be looking for this child; stores the proposals."""
    decided = frozenset(
        session.scalars(
            select(TracingMatch.request_id).where(
                TracingMatch.case_id == case.id,
                TracingMatch.status != MatchStatus.PROPOSED.value,
            )
        )
    )
    open_statuses = sorted(status.value for status in OPEN_STATUSES)
    population = session.scalar(
        select(func.count())
        .select_from(TracingRequest)
        .where(TracingRequest.status.in_(open_statuses))
    )
    candidates = find_candidates(
        session,
        TracingRequestToken,
        TracingRequestToken.request_id,
        tokens,
        population=int(population or 0),
        join=TracingRequest,
        restrict=[TracingRequest.status.in_(open_statuses)],
        exclude=decided,
    )
    if not candidates:
        return _store(session, [], case_id=case.id)
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


def _view(match: TracingMatch, comparison: Comparison) -> MatchView:
    return MatchView(
        request_id=match.request_id,
        case_id=match.case_id,
        score=match.score,
        label=label_of(match.score),
        status=match.status,
        fields=comparison.fields,
    )


def list_request_matches(
    session: Session, keyring: Keyring, principal: Principal, request_id: uuid.UUID
) -> list[MatchView]:
    """Best first, at most 10, among the cases the caller may see (rejected pairs not shown)."""
    request = load_visible_request(session, principal, request_id, Action.TRACING_MATCHES)
    rows = session.execute(
        select(TracingMatch, Case)
        .join(Case, Case.id == TracingMatch.case_id)
        .where(
            TracingMatch.request_id == request.id,
            TracingMatch.status != MatchStatus.REJECTED.value,
            case_filter(principal, Case.agency_id, Case.owner_id),
        )
        .order_by(TracingMatch.score.desc(), TracingMatch.case_id)
        .limit(MAX_MATCHES)
    ).all()
    query = request_person(
        decrypt_document(request_data_key(session, keyring, request), request),
        request.created_at.date(),
    )
    keys = load_data_keys(session, keyring, [case.data_key_id for _, case in rows])
    views = [
        _view(
            match,
            compare(
                query,
                case_person(decrypt_case(keys[case.data_key_id], case), case.created_at.date()),
            ),
        )
        for match, case in rows
    ]
    audit.record(
        session,
        principal,
        Action.TRACING_MATCHES.value,
        resource_type=RESOURCE,
        resource_id=request.id,
        detail={"count": len(views)},
    )
    return views


def list_case_matches(
    session: Session, keyring: Keyring, principal: Principal, case_id: uuid.UUID
) -> list[MatchView]:
    """The same from the case's side, among the tracing requests the caller may see."""
    case = load_visible_case(session, principal, case_id, Action.TRACING_MATCHES)
    rows = session.execute(
        select(TracingMatch, TracingRequest)
        .join(TracingRequest, TracingRequest.id == TracingMatch.request_id)
        .where(
            TracingMatch.case_id == case.id,
            TracingMatch.status != MatchStatus.REJECTED.value,
            tracing_request_filter(principal, TracingRequest.agency_id, TracingRequest.owner_id),
        )
        .order_by(TracingMatch.score.desc(), TracingMatch.request_id)
        .limit(MAX_MATCHES)
    ).all()
    person = case_person(
        decrypt_case(case_data_key(session, keyring, case), case), case.created_at.date()
    )
    keys = load_data_keys(session, keyring, [request.data_key_id for _, request in rows])
    views = [
        _view(
            match,
            compare(
                request_person(
                    decrypt_document(keys[request.data_key_id], request),
                    request.created_at.date(),
                ),
                person,
            ),
        )
        for match, request in rows
    ]
    audit.record(
        session,
        principal,
        Action.TRACING_MATCHES.value,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        detail={"count": len(views)},
    )
    return views


def decide(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    request_id: uuid.UUID,
    case_id: uuid.UUID,
    event: MatchEvent,
    note: str,
    *,
    if_match: str | None = None,
) -> MatchView:
    """A supervisor confirms or rejects one proposed pair (both sides must be visible)."""
    action = Action.TRACING_CONFIRM if event == MatchEvent.CONFIRM else Action.TRACING_REJECT
    request = load_visible_request(session, principal, request_id, action, for_update=True)
    check_version(request, if_match)
    case = session.execute(
        select(Case).where(
            Case.id == case_id, case_filter(principal, Case.agency_id, Case.owner_id)
        )
    ).scalar_one_or_none()
    match = session.get(TracingMatch, (request.id, case_id)) if case is not None else None
    if case is None or match is None:
        raise NotFound(
            "No such match among the cases you may see.",
            action=action.value,
            resource_type=RESOURCE,
            resource_id=request.id,
        )
    was = match.status
    status = next_match_status(was, event)
    if event == MatchEvent.CONFIRM:
        request.status = next_request_status(request.status, RequestEvent.CONFIRM).value
    elif was == MatchStatus.CONFIRMED:
        others = session.scalar(
            select(func.count())
            .select_from(TracingMatch)
            .where(
                TracingMatch.request_id == request.id,
                TracingMatch.case_id != case_id,
                TracingMatch.status == MatchStatus.CONFIRMED.value,
            )
        )
        if not others:
            request.status = next_request_status(request.status, RequestEvent.UNCONFIRM).value
    dek = request_data_key(session, keyring, request)
    match.status = status.value
    match.decided_by = principal.id
    match.decided_at = utcnow()
    match.decision_note = encrypt_field(
        dek, note.encode("utf-8"), table=NOTE_TABLE, record_id=request.id, field=f"note:{case_id}"
    )
    request.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        principal,
        action.value,
        resource_type=RESOURCE,
        resource_id=request.id,
        case_id=case.id,
        fields=["note" if event == MatchEvent.CONFIRM else "reason"],
        detail={"case_id": str(case.id), "status": status.value},
    )
    query = request_person(decrypt_document(dek, request), request.created_at.date())
    person = case_person(
        decrypt_case(case_data_key(session, keyring, case), case), case.created_at.date()
    )
    return _view(match, compare(query, person))


def decision_note(keyring_dek: bytes, match: TracingMatch) -> str | None:
    if match.decision_note is None:
        return None
    return decrypt_field(
        keyring_dek,
        match.decision_note,
        table=NOTE_TABLE,
        record_id=match.request_id,
        field=f"note:{match.case_id}",
    ).decode("utf-8")
