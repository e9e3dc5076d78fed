"""The work done for a child: assessments, the case plan and its versions, services delivered,
follow-ups, stage moves and closures.

Plain columns hold only what routes, schedules and orders the work (ids, dates, kinds, versions,
who recorded what). Everything that says something about the child (domains, severities, needs,
observations, views, goals, actions, descriptions, outcomes, wellbeing, closure reasons) is one
JSON document per row, AES-256-GCM under the case's own data key and bound to its table, row, case
and kind (`services/casework/sealing.py`), so erasing the case (destroying its key) shreds it all;
the rows themselves go with the case row (ON DELETE CASCADE).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, new_id, utcnow

CASE_FK = "cases.id"
STAGES = ("registration", "assessment", "case_plan", "implementation", "follow_up", "closure")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Assessment(Base):
    """One assessment of the child (initial, comprehensive or review)."""

    __tablename__ = "case_assessments"
    __table_args__ = (
        Index("ix_case_assessments_case_id_created_at", "case_id", "created_at", "id"),
        CheckConstraint(_one_of("kind", ("initial", "comprehensive", "review")), name="kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(CASE_FK, ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    """`initial`, `comprehensive` or `review`."""
    completed_on: Mapped[date]
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    content_encrypted: Mapped[bytes]
    """Encrypted: domains (severity, needs, observations), the child's and caregiver's views."""


class CasePlan(Base):
    """The case's current plan (one per case); its content lives in its newest version row."""

    __tablename__ = "case_plans"
    __table_args__ = (CheckConstraint(_one_of("status", ("draft", "approved")), name="status"),)

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(CASE_FK, ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer)
    """1 when created, +1 on every change (an update or an approval): the plan's ETag."""
    status: Mapped[str] = mapped_column(String(16))
    """`draft` or `approved`; any change to an approved plan makes it `draft` again."""
    review_due_on: Mapped[date]
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))


class PlanVersion(Base):
    """Every version of a plan, kept readable: what was planned, and what was approved when."""

    __tablename__ = "case_plan_versions"
    __table_args__ = (
        UniqueConstraint("case_id", "version"),
        CheckConstraint(_one_of("status", ("draft", "approved")), name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(CASE_FK, ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    review_due_on: Mapped[date]
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    """Who wrote this version (for an approval: the approving supervisor)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    content_encrypted: Mapped[bytes]
    """Encrypted: the goals and their actions."""


class ServiceDelivery(Base):
    """A service the child received, from the case's own agency or a partner."""

    __tablename__ = "case_services"
    __table_args__ = (
        Index("ix_case_services_case_id_created_at", "case_id", "created_at", "id"),
        CheckConstraint(_one_of("provided_by", ("own_agency", "partner")), name="provided_by"),
        CheckConstraint(_one_of("recorded_by_type", ("user", "client")), name="recorded_by_type"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(CASE_FK, ondelete="CASCADE"))
    service_type: Mapped[str] = mapped_column(String(32))
    """A referral service type (the same list as referrals)."""
    provided_on: Mapped[date]
    provided_by: Mapped[str] = mapped_column(String(16))
    """`own_agency` or `partner`."""
    referral_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    recorded_by_type: Mapped[str] = mapped_column(String(16))
    """`user` (staff) or `client` (a partner's API client completing a referral)."""
    recorded_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    content_encrypted: Mapped[bytes]
    """Encrypted: description and outcome."""


class FollowUp(Base):
    """A follow-up contact with the child (visit, call...)."""

    __tablename__ = "case_follow_ups"
    __table_args__ = (
        Index("ix_case_follow_ups_case_id_created_at", "case_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(CASE_FK, ondelete="CASCADE"))
    happened_on: Mapped[date]
    next_due_on: Mapped[date | None]
    """When the next follow-up is due (schedules the case's next action)."""
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    content_encrypted: Mapped[bytes]
    """Encrypted: mode, observations, wellbeing trend."""


class StageEvent(Base):
    """A move of the case's stage (or its reopening): the timeline's stage entries."""

    __tablename__ = "case_stage_events"
    __table_args__ = (
        Index("ix_case_stage_events_case_id_at", "case_id", "at", "id"),
        CheckConstraint(_one_of("from_stage", STAGES), name="from_stage"),
        CheckConstraint(_one_of("to_stage", STAGES), name="to_stage"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(CASE_FK, ondelete="CASCADE"))
    from_stage: Mapped[str] = mapped_column(String(32))
    to_stage: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Closure(Base):
    """One closing of the case by a supervisor, with its reason (a case may be reopened)."""

    __tablename__ = "case_closures"
    __table_args__ = (Index("ix_case_closures_case_id_closed_at", "case_id", "closed_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(CASE_FK, ondelete="CASCADE"))
    closed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)
    content_encrypted: Mapped[bytes]
    """Encrypted: the reason code and note (a reason such as `death` says something about the
    child, so it is not a plain column)."""
