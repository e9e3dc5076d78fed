"""The supervisor's caseload view: `GET /caseload`.

Per caseworker of the supervisor's agency: open cases by stage and by risk, how many are overdue
and which kinds of work are late, and how many have a follow-up due soon. Computed from the
cases' plain columns only (the schedule columns; no content is loaded or decrypted), through the
same visibility filter as every case list.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from models.base import utcnow
from models.cases import Case
from models.identity import User
from services import audit
from services.cases.schedule import overdue_kinds
from services.config import Settings
from services.errors import InvalidInput
from services.policy import Action, Principal, Role, case_listing_filter, require

MAX_WINDOW_DAYS = 90

_COLUMNS = (
    Case.id,
    Case.owner_id,
    Case.status,
    Case.stage,
    Case.risk_level,
    Case.created_at,
    Case.stage_changed_at,
    Case.next_action_due_at,
    Case.assessed_at,
    Case.plan_action_due_on,
    Case.plan_review_due_on,
    Case.follow_up_due_on,
)


@dataclass
class CaseloadRow:
    caseworker_id: uuid.UUID
    username: str
    open_cases: int = 0
    by_stage: Counter[str] = field(default_factory=Counter)
    by_risk: Counter[str] = field(default_factory=Counter)
    overdue_cases: int = 0
    overdue_items: Counter[str] = field(default_factory=Counter)
    follow_ups_due_soon: int = 0


@dataclass(frozen=True)
class CaseloadView:
    as_of: datetime
    window_days: int
    items: list[CaseloadRow]


def caseload(
    session: Session, settings: Settings, principal: Principal, *, days: int = 14
) -> CaseloadView:
    require(principal, Action.CASELOAD_READ)
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise InvalidInput.field(("query", "days"), f"Must be between 1 and {MAX_WINDOW_DAYS}.")
    now = utcnow()
    horizon = (now + timedelta(days=days)).date()
    rows: dict[uuid.UUID, CaseloadRow] = {
        user.id: CaseloadRow(caseworker_id=user.id, username=user.username)
        for user in session.scalars(
            select(User)
            .where(
                User.agency_id == principal.agency_id,
                User.role == Role.CASEWORKER.value,
                User.is_active.is_(True),
            )
            .order_by(User.username)
        )
    }
    cases = session.scalars(
        select(Case)
        .options(load_only(*_COLUMNS, raiseload=True))
        .where(case_listing_filter(principal), Case.status == "open")
    ).all()
    owners = {case.owner_id for case in cases} - set(rows)
    if owners:  # cases still owned by someone no longer an active caseworker
        for user in session.scalars(select(User).where(User.id.in_(owners))):
            rows[user.id] = CaseloadRow(caseworker_id=user.id, username=user.username)
    for case in cases:
        row = rows[case.owner_id]
        row.open_cases += 1
        row.by_stage[case.stage] += 1
        row.by_risk[case.risk_level] += 1
        if case.next_action_due_at is not None and case.next_action_due_at < now:
            row.overdue_cases += 1
        row.overdue_items.update(kind.value for kind in overdue_kinds(settings, case, now))
        if case.follow_up_due_on is not None and case.follow_up_due_on <= horizon:
            row.follow_ups_due_soon += 1
    items = sorted(rows.values(), key=lambda row: (row.username, row.caseworker_id))
    audit.record(
        session,
        principal,
        Action.CASELOAD_READ,
        resource_type="caseload",
        detail={"caseworkers": len(items), "open_cases": len(cases), "window_days": days},
    )
    return CaseloadView(as_of=now, window_days=days, items=items)
