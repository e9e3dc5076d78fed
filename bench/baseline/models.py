"""The baseline's schema: the case body in plain columns, indexed the way a CRUD app would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Sequence, String, Table, Text, func
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import DateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}


JSONB = JSON().with_variant(postgresql.JSONB(), "postgresql")
"""JSONB on PostgreSQL, JSON (text) on SQLite."""

CASE_NUMBERS = Sequence("case_number_seq", metadata=Base.metadata)
CASE_NUMBER_COUNTER = Table(
    "case_number_counter",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", Integer, nullable=False),
)
"""SQLite has no sequences: there the case number comes from this one-row counter."""


class Agency(Base):
    __tablename__ = "agencies"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class User(Base):
    __tablename__ = "users"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))


class AccessToken(Base):
    __tablename__ = "access_tokens"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_owner_created", "owner_id", "created_at"),
        Index("ix_cases_agency_created", "agency_id", "created_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_number: Mapped[str] = mapped_column(String(32), unique=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    stage: Mapped[str] = mapped_column(String(32), default="registration")
    risk_level: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_action_due_at: Mapped[datetime | None]
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(16))
    date_of_birth: Mapped[str | None] = mapped_column(String(10))
    estimated_age: Mapped[int | None]
    governorate: Mapped[str] = mapped_column(String(100))
    district: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(500))
    caregivers: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    separation_status: Mapped[str] = mapped_column(String(32))
    protection_concerns: Mapped[list[str]] = mapped_column(JSONB)
    narrative: Mapped[str | None] = mapped_column(Text)

    __mapper_args__ = {"version_id_col": version}


class Note(Base):
    __tablename__ = "case_notes"
    __table_args__ = (Index("ix_case_notes_case_created", "case_id", "created_at"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Referral(Base):
    __tablename__ = "referrals"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    to_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    service_type: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    shared_fields: Mapped[list[str]] = mapped_column(JSONB)
    consent_given_by: Mapped[str] = mapped_column(String(32))
    consent_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def full_name_expr() -> Any:
    return func.lower(Case.given_name + " " + Case.family_name)


# Exact-match name search, case-insensitive, the way a CRUD app indexes it.
Index("ix_cases_given_name_lower", func.lower(Case.given_name))
Index("ix_cases_family_name_lower", func.lower(Case.family_name))
Index("ix_cases_full_name_lower", full_name_expr())


class Assessment(Base):
    __tablename__ = "case_assessments"
    __table_args__ = (Index("ix_case_assessments_case_created", "case_id", "created_at"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    completed_on: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    domains: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    child_views: Mapped[str | None] = mapped_column(Text)
    caregiver_views: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Plan(Base):
    __tablename__ = "case_plans"
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    review_due_on: Mapped[str] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanVersion(Base):
    __tablename__ = "case_plan_versions"
    __table_args__ = (Index("ix_case_plan_versions_case_version", "case_id", "version"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    review_due_on: Mapped[str] = mapped_column(String(10))
    goals: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowUp(Base):
    __tablename__ = "case_follow_ups"
    __table_args__ = (Index("ix_case_follow_ups_case_created", "case_id", "created_at"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    happened_on: Mapped[str] = mapped_column(String(10))
    next_due_on: Mapped[str | None] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(16))
    observations: Mapped[str] = mapped_column(Text)
    wellbeing: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
