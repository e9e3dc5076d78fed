"""Case numbers: `HVN-<year>-<000123>`, counted per agency and year.

Each agency has its own counter row per year (`agency_case_counters`), so a number is unique
within its agency and says nothing about how many children other agencies register (a global
counter let every agency read the others' intake volume from its own numbers).

The counter row is updated in place: row-locked on PostgreSQL until the intake commits (SQLite
transactions are serialised anyway), so two concurrent intakes of an agency never get the same
number. That lock is why the number is taken last: an intake first inserts its case under a
provisional number (the case id, which no real number can equal), does all its other work
(tokens, tracing, duplicate check), and only then increments the counter and sets the number
(`assign_case_number`). The row is then held only for the commit (the audit-chain append and
the commit itself), not for the whole intake. The first intake of an agency in a year inserts
its row in a savepoint; if another intake won that race, the primary key refuses it and we
update the winner's row instead. A rolled-back intake leaves no gap: its increment rolls back
with it.

Why not a database sequence per agency: agencies are created at run time by the application,
whose least-privilege database role may not create sequences (only the owner role that runs
migrations may); and a sequence would not start again each year.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from models.cases import Case, CaseNumberCounter

PREFIX = "HVN"


def provisional_number(case_id: uuid.UUID) -> str:
    """What a case holds until `assign_case_number`: its id (32 hex digits, never `HVN-...`)."""
    return case_id.hex


def _increment(session: Session, agency_id: uuid.UUID, year: int) -> int | None:
    result = session.execute(
        update(CaseNumberCounter)
        .where(CaseNumberCounter.agency_id == agency_id, CaseNumberCounter.year == year)
        .values(last_value=CaseNumberCounter.last_value + 1)
        .returning(CaseNumberCounter.last_value)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return None if result is None else int(result)


def next_case_number(session: Session, agency_id: uuid.UUID, now: datetime) -> str:
    """The agency's next number for `now`'s year; the counter row stays locked until commit."""
    year = now.year
    value = _increment(session, agency_id, year)
    if value is None:
        try:
            with session.begin_nested():
                session.add(CaseNumberCounter(agency_id=agency_id, year=year, last_value=1))
            value = 1
        except IntegrityError:
            value = _increment(session, agency_id, year)
    if value is None:  # pragma: no cover - the row exists by now
        value = session.execute(
            select(CaseNumberCounter.last_value).where(
                CaseNumberCounter.agency_id == agency_id, CaseNumberCounter.year == year
            )
        ).scalar_one()
    return f"{PREFIX}-{year}-{value:06d}"


def assign_case_number(session: Session, case: Case) -> None:
    """Give a flushed case (under its provisional number) its real one: the intake's last
    statements, so the counter row is locked only until the commit that follows."""
    number = next_case_number(session, case.agency_id, case.created_at)
    session.execute(
        update(Case)
        .where(Case.id == case.id)
        # `updated_at` named so its on-update default does not move it past `created_at`.
        .values(case_number=number, updated_at=case.updated_at)
        .execution_options(synchronize_session=False)
    )
    # The row already holds it: the object learns it without becoming dirty (no second
    # UPDATE, no version bump).
    set_committed_value(case, "case_number", number)
