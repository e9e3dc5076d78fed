"""Keeping the case's schedule columns in step with its records.

The case row holds, in plain columns, the inputs of `services.cases.schedule`: when it was first
assessed, the earliest open plan action, the plan's review date and the next follow-up. Each
casework write that changes one of them calls a function here, which sets the column and
recomputes `next_action_due_at`; the case's version moves only when a value really changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.cases import Case
from models.casework import FollowUp
from services.cases.concurrency import CASE_VERSIONS
from services.cases.schedule import reschedule
from services.casework.codes import OPEN_ACTION_STATUSES
from services.config import Settings


def _apply(session: Session, settings: Settings, case: Case, **values: Any) -> None:
    changed = False
    for name, value in values.items():
        if getattr(case, name) != value:
            setattr(case, name, value)
            changed = True
    before = case.next_action_due_at
    reschedule(settings, case)
    if changed or case.next_action_due_at != before:
        CASE_VERSIONS.flush(session)


def mark_assessed(session: Session, settings: Settings, case: Case, at: datetime) -> None:
    """The first assessment ends the first-assessment clock (later ones change nothing)."""
    if case.assessed_at is None:
        _apply(session, settings, case, assessed_at=at)


def earliest_open_action(goals: Iterable[Mapping[str, Any]]) -> date | None:
    dues = [
        date.fromisoformat(str(action["due_on"]))
        for goal in goals
        for action in goal.get("actions", [])
        if action.get("status") in OPEN_ACTION_STATUSES
    ]
    return min(dues) if dues else None


def plan_changed(
    session: Session,
    settings: Settings,
    case: Case,
    goals: Iterable[Mapping[str, Any]],
    review_due_on: date,
) -> None:
    _apply(
        session,
        settings,
        case,
        plan_action_due_on=earliest_open_action(goals),
        plan_review_due_on=review_due_on,
    )


def follow_ups_changed(session: Session, settings: Settings, case: Case) -> None:
    """The next follow-up is what the latest follow-up (by the day it happened) set."""
    latest = session.execute(
        select(FollowUp.next_due_on)
        .where(FollowUp.case_id == case.id)
        .order_by(FollowUp.happened_on.desc(), FollowUp.created_at.desc(), FollowUp.id.desc())
        .limit(1)
    ).first()
    _apply(session, settings, case, follow_up_due_on=latest[0] if latest else None)
