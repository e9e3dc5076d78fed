"""Assessments: `POST /cases/{id}/assessments`, `GET /cases/{id}/assessments`.

An assessment looks at the child domain by domain (severity, need codes from the need reference
list, observations) and records the child's and the caregiver's own views. Only its kind and
dates are plain columns; the rest is one document sealed under the case's key, bound to the row,
the case and the kind. The first assessment of a case stops its first-assessment clock and opens
the gate to `case_plan`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.base import new_id, utcnow
from models.casework import Assessment
from services.cases.access import case_data_key
from services.cases.records import open_record, seal_record
from services.casework import common, due_dates
from services.casework.codes import NEED_CODES, SEVERITY_RANK
from services.casework.enums import Severity
from services.config import Settings
from services.crypto import Keyring
from services.errors import FieldProblem, InvalidInput
from services.kit import idempotency
from services.policy import Action, Principal

TABLE = "case_assessments"
DOCUMENT_KEYS = ("domains", "child_views", "caregiver_views")


@dataclass(frozen=True)
class AssessmentView:
    id: uuid.UUID
    case_id: uuid.UUID
    kind: str
    completed_on: date
    author_id: uuid.UUID
    created_at: datetime
    domains: list[dict[str, Any]]
    child_views: str | None
    caregiver_views: str | None
    replayed: bool = False

    @property
    def highest_severity(self) -> str:
        ranks = [Severity(d["severity"]) for d in self.domains]
        return max(ranks, key=SEVERITY_RANK.__getitem__).value if ranks else Severity.NONE.value

    @property
    def needs(self) -> list[str]:
        return sorted({need for d in self.domains for need in d.get("needs", [])})


def _kind(assessment: Assessment) -> str:
    return f"assessment:{assessment.kind}"


def view_of(dek: bytes, row: Assessment, *, replayed: bool = False) -> AssessmentView:
    document = open_record(
        dek,
        row.content_encrypted,
        table=TABLE,
        record_id=row.id,
        case_id=row.case_id,
        kind=_kind(row),
    )
    return AssessmentView(
        id=row.id,
        case_id=row.case_id,
        kind=row.kind,
        completed_on=row.completed_on,
        author_id=row.author_id,
        created_at=row.created_at,
        domains=list(document.get("domains", [])),
        child_views=document.get("child_views"),
        caregiver_views=document.get("caregiver_views"),
        replayed=replayed,
    )


def _validate(body: Mapping[str, Any], today: date) -> None:
    problems: list[FieldProblem] = []
    if date.fromisoformat(str(body["completed_on"])) > today:
        problems.append(FieldProblem(("body", "completed_on"), "Must not be in the future."))
    seen_domains: set[str] = set()
    for index, domain in enumerate(body.get("domains", [])):
        if domain["domain"] in seen_domains:
            problems.append(
                FieldProblem(("body", "domains", index, "domain"), "Each domain at most once.")
            )
        seen_domains.add(domain["domain"])
        seen: set[str] = set()
        for position, code in enumerate(domain.get("needs", [])):
            loc = ("body", "domains", index, "needs", position)
            if code not in NEED_CODES:
                problems.append(
                    FieldProblem(loc, "Unknown need code; see GET /api/v1/reference/needs.")
                )
            elif code in seen:
                problems.append(FieldProblem(loc, "Duplicate need code."))
            seen.add(code)
    if problems:
        raise InvalidInput(problems)


def record_assessment(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    case_id: uuid.UUID,
    body: Mapping[str, Any],
    *,
    idempotency_key: str | None = None,
) -> AssessmentView:
    """Record an assessment. `body` is the request in JSON form (dates as ISO text)."""
    case = common.load_case(session, principal, case_id, Action.ASSESSMENT_CREATE, for_update=True)
    common.require_open(case)
    now = utcnow()
    _validate(body, now.date())
    assessment_id = new_id()
    claim = idempotency.claim(
        session,
        keyring,
        principal,
        idempotency_key,
        operation=f"assessment.create:{case.id}",
        body=dict(body),
        resource_type="assessment",
        resource_id=assessment_id,
        case_id=case.id,
    )
    dek = case_data_key(session, keyring, case)
    if claim.replay is not None:
        earlier = session.get(Assessment, claim.replay.resource_id)
        if earlier is None or earlier.case_id != case.id:  # pragma: no cover - erased together
            raise InvalidInput.field(idempotency.HEADER_LOC, "The earlier record no longer exists.")
        common.record(
            session,
            principal,
            Action.ASSESSMENT_CREATE,
            resource_type="assessment",
            resource_id=earlier.id,
            case_id=case.id,
            detail={"idempotent_replay": True},
        )
        return view_of(dek, earlier, replayed=True)
    document = {key: body.get(key) for key in DOCUMENT_KEYS}
    row = Assessment(
        id=assessment_id,
        case_id=case.id,
        kind=str(body["kind"]),
        completed_on=date.fromisoformat(str(body["completed_on"])),
        author_id=principal.id,
        created_at=now,
    )
    row.content_encrypted = seal_record(
        dek, document, table=TABLE, record_id=row.id, case_id=case.id, kind=_kind(row)
    )
    session.add(row)
    session.flush()
    due_dates.mark_assessed(session, settings, case, now)
    common.record(
        session,
        principal,
        Action.ASSESSMENT_CREATE,
        resource_type="assessment",
        resource_id=row.id,
        case_id=case.id,
        fields=[
            "kind",
            "completed_on",
            *(key for key in DOCUMENT_KEYS if body.get(key) is not None),
        ],
        detail={"domains": len(document["domains"] or [])},
    )
    return view_of(dek, row)


def list_assessments(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    limit: int = common.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> common.Page[AssessmentView]:
    case = common.load_case(session, principal, case_id, Action.ASSESSMENT_LIST)
    rows, next_cursor = common.newest_first(
        session,
        select(Assessment).where(Assessment.case_id == case.id),
        order="assessments",
        at_col=Assessment.created_at,
        id_col=Assessment.id,
        limit=limit,
        cursor=cursor,
    )
    dek = case_data_key(session, keyring, case)
    items = [view_of(dek, row) for row in rows]
    common.record(
        session,
        principal,
        Action.ASSESSMENT_LIST,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        fields=list(DOCUMENT_KEYS) if items else [],
        detail={"count": len(items)},
    )
    return common.Page(items=items, next_cursor=next_cursor)


def assessed_needs(session: Session, dek: bytes, case_id: uuid.UUID) -> set[str]:
    """Every need code any assessment of the case named (a plan's goals must be among them)."""
    rows = session.scalars(select(Assessment).where(Assessment.case_id == case_id)).all()
    return {need for row in rows for need in view_of(dek, row).needs}
