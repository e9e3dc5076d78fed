"""A case's timeline: `GET /cases/{id}/timeline`, newest first, cursor-paginated.

It merges every kind of record of the case: stage moves (and reopenings), assessments, plan
versions, services delivered, follow-ups, notes, referrals, reunifications and closures. Each
source is read newest first after the cursor, at most one page each, and the sources are merged on
(time, id), so a page costs one small query per source whatever the case's size. Summaries are
decrypted under the case's key; only a caller who may read the case gets here at all (the case
is loaded through the one visibility rule, 404 otherwise), and the audit event names the kinds
served, never a summary.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from models.cases import CaseNote
from models.casework import Assessment, Closure, FollowUp, PlanVersion, ServiceDelivery, StageEvent
from models.referrals import Referral
from models.tracing import CaseReunification
from services.cases.access import case_data_key, decrypt_for_case
from services.cases.records import open_record
from services.cases.workflow import CLOSURES_TABLE
from services.casework import assessments, common, delivered, follow_ups, plans
from services.casework.enums import TimelineKind
from services.crypto import Keyring
from services.kit.cursor import Keyset, SortKey
from services.policy import Action, Principal
from services.tracing.reunification import details_of

SUMMARY_CHARS = 120
KEYSET = Keyset(
    "timeline",
    (SortKey(StageEvent.at, datetime, descending=True), SortKey(StageEvent.id, uuid.UUID, True)),
)
"""Only the cursor's encoding: each source applies its own columns to the decoded values."""


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: TimelineKind
    id: uuid.UUID
    summary: str


def _short(text: str | None) -> str:
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


def _stage(_dek: bytes, row: StageEvent) -> str:
    if row.from_stage == "closure" and row.to_stage == "follow_up":
        return "Reopened: back to follow_up"
    return f"Stage: {row.from_stage} → {row.to_stage}"


def _assessment(dek: bytes, row: Assessment) -> str:
    view = assessments.view_of(dek, row)
    count = len(view.domains)
    needs = ", ".join(view.needs) or "none"
    return (
        f"{row.kind.capitalize()} assessment: {count} domain{'s' if count != 1 else ''}, "
        f"highest severity {view.highest_severity}; needs: {needs}"
    )


def _plan(dek: bytes, row: PlanVersion) -> str:
    goals = plans.plan_goals(dek, row)
    actions = [action for goal in goals for action in goal.get("actions", [])]
    return (
        f"Plan version {row.version} ({row.status}): {len(goals)} goal(s), "
        f"{len(actions)} action(s), review due {row.review_due_on.isoformat()}"
    )


def _service(dek: bytes, row: ServiceDelivery) -> str:
    view = delivered.view_of(dek, row)
    text = _short(view.outcome or view.description)
    by = "a partner" if row.provided_by == "partner" else "own agency"
    return f"Service {row.service_type} by {by} on {row.provided_on.isoformat()}" + (
        f": {text}" if text else ""
    )


def _follow_up(dek: bytes, row: FollowUp) -> str:
    view = follow_ups.view_of(dek, row)
    return (
        f"Follow-up ({view.mode}) on {row.happened_on.isoformat()}, wellbeing {view.wellbeing}: "
        f"{_short(view.observations)}"
    )


def _note(dek: bytes, row: CaseNote) -> str:
    text = decrypt_for_case(
        dek, row.text_encrypted, table="case_notes", record_id=row.id, field="text"
    )
    return f"Note: {_short(text)}"


def _referral(_dek: bytes, row: Referral) -> str:
    return f"Referral for {row.service_type} ({row.urgency} urgency): {row.status}"


def _reunification(dek: bytes, row: CaseReunification) -> str:
    details = details_of(dek, row)
    note = _short(details.get("note"))
    return (
        f"Reunified with {details['with']} on {details['reunified_on']} "
        f"(tracing request {details['reference']})" + (f": {note}" if note else "")
    )


def _closure(dek: bytes, row: Closure) -> str:
    document = open_record(
        dek,
        row.content_encrypted,
        table=CLOSURES_TABLE,
        record_id=row.id,
        case_id=row.case_id,
        kind="closure",
    )
    note = _short(document.get("note"))
    return f"Closed: {document['reason']}" + (f" ({note})" if note else "")


@dataclass(frozen=True)
class _Source:
    kind: TimelineKind
    model: Any
    at: Any
    summary: Callable[[bytes, Any], str]


SOURCES: tuple[_Source, ...] = (
    _Source(TimelineKind.STAGE, StageEvent, StageEvent.at, _stage),
    _Source(TimelineKind.ASSESSMENT, Assessment, Assessment.created_at, _assessment),
    _Source(TimelineKind.PLAN, PlanVersion, PlanVersion.created_at, _plan),
    _Source(TimelineKind.SERVICE, ServiceDelivery, ServiceDelivery.created_at, _service),
    _Source(TimelineKind.FOLLOW_UP, FollowUp, FollowUp.created_at, _follow_up),
    _Source(TimelineKind.NOTE, CaseNote, CaseNote.created_at, _note),
    _Source(TimelineKind.REFERRAL, Referral, Referral.created_at, _referral),
    _Source(
        TimelineKind.REUNIFICATION,
        CaseReunification,
        CaseReunification.recorded_at,
        _reunification,
    ),
    _Source(TimelineKind.CLOSURE, Closure, Closure.closed_at, _closure),
)


def _rows(
    session: Session,
    source: _Source,
    case_id: uuid.UUID,
    after: tuple[Any, ...] | None,
    limit: int,
) -> Sequence[Any]:
    model = source.model
    statement = select(model).where(model.case_id == case_id)
    if after is not None:
        at, last_id = after
        statement = statement.where(or_(source.at < at, and_(source.at == at, model.id < last_id)))
    return (
        session.execute(statement.order_by(source.at.desc(), model.id.desc()).limit(limit + 1))
        .scalars()
        .all()
    )


def case_timeline(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    limit: int = common.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> common.Page[TimelineEntry]:
    case = common.load_case(session, principal, case_id, Action.CASE_TIMELINE)
    common.check_limit(limit)
    after = tuple(KEYSET.decode(cursor)) if cursor else None
    candidates: list[tuple[datetime, uuid.UUID, _Source, Any]] = []
    for source in SOURCES:
        for row in _rows(session, source, case.id, after, limit):
            candidates.append((getattr(row, source.at.key), row.id, source, row))
    chosen = heapq.nlargest(limit + 1, candidates, key=lambda item: (item[0], item[1]))
    has_more = len(chosen) > limit
    chosen = chosen[:limit]
    dek = case_data_key(session, keyring, case) if chosen else b""
    items = [
        TimelineEntry(at=at, kind=source.kind, id=row_id, summary=source.summary(dek, row))
        for at, row_id, source, row in chosen
    ]
    common.record(
        session,
        principal,
        Action.CASE_TIMELINE,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        fields=sorted({f"{item.kind.value}.summary" for item in items}),
        detail={"count": len(items)},
    )
    next_cursor = KEYSET.encode((items[-1].at, items[-1].id)) if has_more else None
    return common.Page(items=items, next_cursor=next_cursor)
