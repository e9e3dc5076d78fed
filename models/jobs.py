"""The periodic jobs' bookkeeping: one row per job, its last run (`haven jobs status`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

JOB_OUTCOMES = ("ok", "failed")


class JobRun(Base):
    """One periodic job's last run. Claiming a run is a conditional UPDATE of this row, so with
    several workers (or a worker and an operator's `haven jobs run --once`) a job runs once per
    period."""

    __tablename__ = "job_runs"
    __table_args__ = (CheckConstraint("last_outcome IN ('ok', 'failed')", name="last_outcome"),)

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    last_summary: Mapped[str | None] = mapped_column(String(255))
    """Counts only (e.g. `deleted 3`), never a name or any other record content."""
    last_ok_at: Mapped[datetime | None]
    runs: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
