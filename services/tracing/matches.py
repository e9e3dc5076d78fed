"""Potential matches as people see them: listing from either side, a supervisor's decision.

Listing shows a match only when the caller may see both sides (`policy.case_filter`,
`policy.tracing_request_filter`); the per-field comparison is recomputed from the two decrypted
records (at most 10 cases or requests per listing), since only ids and the score are stored.
A confirmed or rejected pair is never touched by the matcher again (`matching`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.cases import Case
from models.tracing import TracingMatch, TracingRequest
from services import audit
from services.cases.access import case_data_key, load_visible_case
from services.cases.content import decrypt_document as decrypt_case
from services.crypto import Keyring, encrypt_field, load_data_keys
from services.errors import NotFound
from services.policy import Action, Principal, case_filter, tracing_request_filter
from services.tracing.content import decrypt_document, request_data_key
from services.tracing.enums import MatchFieldResult as FieldResult
from services.tracing.enums import MatchLabel as Label
from services.tracing.matching import MAX_MATCHES, case_person, request_person
from services.tracing.requests import RESOURCE, check_version, load_visible_request
from services.tracing.scoring import Comparison, compare, label_of
from services.tracing.states import (
    MatchEvent,
    MatchStatus,
    RequestEvent,
    next_match_status,
    next_request_status,
)

NOTE_TABLE = "tracing_matches"


@dataclass(frozen=True)
class MatchView:
    request_id: uuid.UUID
    case_id: uuid.UUID
    score: float
    label: Label
    status: str
    fields: dict[str, FieldResult]


def _runner_ups(
    session: Session, request_ids: set[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], float | None]:
    """For every undecided-or-confirmed pair of these requests, the best score of another case
    for the same request (what `likely` must beat). Counted over every case, seen or not, so a
    pair's label is the same for everyone; only ids and scores are read."""
    scores: dict[uuid.UUID, list[tuple[uuid.UUID, float]]] = {}
    for request_id, case_id, score in session.execute(
        select(TracingMatch.request_id, TracingMatch.case_id, TracingMatch.score).where(
            TracingMatch.request_id.in_(request_ids),
            TracingMatch.status != MatchStatus.REJECTED.value,
        )
    ):
        scores.setdefault(request_id, []).append((case_id, score))
    runner_up: dict[tuple[uuid.UUID, uuid.UUID], float | None] = {}
    for request_id, pairs in scores.items():
        for case_id, _ in pairs:
            others = [score for other, score in pairs if other != case_id]
            runner_up[(request_id, case_id)] = max(others) if others else None
    return runner_up


def _view(
    match: TracingMatch,
    comparison: Comparison,
    runner_ups: dict[tuple[uuid.UUID, uuid.UUID], float | None],
) -> MatchView:
    return MatchView(
        request_id=match.request_id,
        case_id=match.case_id,
        score=match.score,
        label=label_of(match.score, runner_ups.get((match.request_id, match.case_id))),
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
    runner_ups = _runner_ups(session, {request.id})
    views = [
        _view(
            match,
            compare(
                query,
                case_person(decrypt_case(keys[case.data_key_id], case), case.created_at.date()),
            ),
            runner_ups,
        )
        for match, case in rows
    ]
    audit.record(
        session,
        principal,
        Action.TRACING_MATCHES,
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
    runner_ups = _runner_ups(session, {request.id for _, request in rows})
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
            runner_ups,
        )
        for match, request in rows
    ]
    audit.record(
        session,
        principal,
        Action.TRACING_MATCHES,
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
            action=action,
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
        action,
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
    return _view(match, compare(query, person), _runner_ups(session, {request.id}))
