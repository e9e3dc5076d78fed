"""Follow-ups: `POST /cases/{id}/follow-ups`, `GET /cases/{id}/follow-ups`.

The day it happened and the next due day are plain columns (they schedule the case); how it
happened, what was observed and the wellbeing trend are sealed under the case's key. The latest
follow-up (by the day it happened) sets the case's next follow-up.
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
from models.casework import FollowUp
from services.cases.access import case_data_key
from services.cases.records import open_record, seal_record
from services.casework import common, due_dates
from services.config import Settings
from services.crypto import Keyring
from services.errors import FieldProblem, InvalidInput
from services.kit import idempotency
from services.policy import Action, Principal

TABLE = "case_follow_ups"
KIND = "follow_up"
SEALED = ("mode", "observations", "wellbeing")


@dataclass(frozen=True)
class FollowUpView:
    id: uuid.UUID
    case_id: uuid.UUID
    happened_on: date
    mode: str
    observations: str
    wellbeing: str
    next_due_on: date | None
    author_id: uuid.UUID
    created_at: datetime
    replayed: bool = False


def view_of(dek: bytes, row: FollowUp, *, replayed: bool = False) -> FollowUpView:
    document = open_record(
        dek, row.content_encrypted, table=TABLE, record_id=row.id, case_id=row.case_id, kind=KIND
    )
    return FollowUpView(
        id=row.id,
        case_id=row.case_id,
        happened_on=row.happened_on,
        mode=document["mode"],
        observations=document["observations"],
        wellbeing=document["wellbeing"],
        next_due_on=row.next_due_on,
        author_id=row.author_id,
        created_at=row.created_at,
        replayed=replayed,
    )


def _validate(body: Mapping[str, Any], today: date) -> tuple[date, date | None]:
    problems: list[FieldProblem] = []
    happened = date.fromisoformat(str(body["happened_on"]))
    raw_next = body.get("next_due_on")
    next_due = date.fromisoformat(str(raw_next)) if raw_next is not None else None
    if happened > today:
        problems.append(FieldProblem(("body", "happened_on"), "Must not be in the future."))
    if next_due is not None and next_due < happened:
        problems.append(
            FieldProblem(("body", "next_due_on"), "Must not be before the day it happened.")
        )
    if problems:
        raise InvalidInput(problems)
    return happened, next_due


def record_follow_up(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    case_id: uuid.UUID,
    body: Mapping[str, Any],
    *,
    idempotency_key: str | None = None,
) -> FollowUpView:
    case = common.load_case(session, principal, case_id, Action.FOLLOW_UP_CREATE, for_update=True)
    common.require_open(case)
    happened, next_due = _validate(body, utcnow().date())
    follow_up_id = new_id()
    claim = idempotency.claim(
        session,
        keyring,
        principal,
        idempotency_key,
        operation=f"follow_up.create:{case.id}",
        body=dict(body),
        resource_type="follow_up",
        resource_id=follow_up_id,
        case_id=case.id,
    )
    dek = case_data_key(session, keyring, case)
    if claim.replay is not None:
        earlier = session.get(FollowUp, claim.replay.resource_id)
        if earlier is None or earlier.case_id != case.id:  # pragma: no cover - erased together
            raise InvalidInput.field(idempotency.HEADER_LOC, "The earlier record no longer exists.")
        common.record(
            session,
            principal,
            Action.FOLLOW_UP_CREATE,
            resource_type="follow_up",
            resource_id=earlier.id,
            case_id=case.id,
            detail={"idempotent_replay": True},
        )
        return view_of(dek, earlier, replayed=True)
    row = FollowUp(
        id=follow_up_id,
        case_id=case.id,
        happened_on=happened,
        next_due_on=next_due,
        author_id=principal.id,
        created_at=utcnow(),
    )
    row.content_encrypted = seal_record(
        dek,
        {key: body[key] for key in SEALED},
        table=TABLE,
        record_id=row.id,
        case_id=case.id,
        kind=KIND,
    )
    session.add(row)
    session.flush()
    due_dates.follow_ups_changed(session, settings, case)
    common.record(
        session,
        principal,
        Action.FOLLOW_UP_CREATE,
        resource_type="follow_up",
        resource_id=row.id,
        case_id=case.id,
        fields=["happened_on", *SEALED, *(("next_due_on",) if next_due is not None else ())],
    )
    return view_of(dek, row)


def list_follow_ups(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    limit: int = common.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> common.Page[FollowUpView]:
    case = common.load_case(session, principal, case_id, Action.FOLLOW_UP_LIST)
    rows, next_cursor = common.newest_first(
        session,
        select(FollowUp).where(FollowUp.case_id == case.id),
        order="follow_ups",
        at_col=FollowUp.created_at,
        id_col=FollowUp.id,
        limit=limit,
        cursor=cursor,
    )
    dek = case_data_key(session, keyring, case)
    items = [view_of(dek, row) for row in rows]
    common.record(
        session,
        principal,
        Action.FOLLOW_UP_LIST,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        fields=list(SEALED) if items else [],
        detail={"count": len(items)},
    )
    return common.Page(items=items, next_cursor=next_cursor)
