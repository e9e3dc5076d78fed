"""Case numbers: `HVN-<year>-<000123>`, from a per-year counter row.

The counter row is updated in place (row-locked until the intake commits on PostgreSQL; SQLite
transactions are serialised anyway), so two concurrent intakes never get the same number. The
first intake of a year inserts the row in a savepoint; if another intake won that race, the
unique key refuses it and we update the winner's row instead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.cases import CaseNumberCounter

PREFIX = "HVN"


def _increment(session: Session, year: int) -> int | None:
    result = session.execute(
        update(CaseNumberCounter)
        .where(CaseNumberCounter.year == year)
        .values(last_value=CaseNumberCounter.last_value + 1)
        .returning(CaseNumberCounter.last_value)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return None if result is None else int(result)


def next_case_number(session: Session, now: datetime) -> str:
    year = now.year
    value = _increment(session, year)
    if value is None:
        try:
            with session.begin_nested():
                session.add(CaseNumberCounter(year=year, last_value=1))
            value = 1
        except IntegrityError:
            value = _increment(session, year)
    if value is None:  # pragma: no cover - the row exists by now
        value = session.execute(
            select(CaseNumberCounter.last_value).where(CaseNumberCounter.year == year)
        ).scalar_one()
    return f"{PREFIX}-{year}-{value:06d}"
