"""Cases, notes, blind-index tokens, idempotency records, erasure tombstones.

Plain columns hold only what routes and schedules work (ids, case number, agency, owner, status,
stage, risk level, dates, version). Everything that describes the child lives in `Case.content`,
one AES-256-GCM blob under the case's own data key (`services/cases/content.py` defines it).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, new_id, utcnow


class Case(Base):
    """One child's case: routing columns in the clear, the record itself encrypted."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_agency_id_created_at", "agency_id", "created_at"),
        Index("ix_cases_owner_id_created_at", "owner_id", "created_at", "id"),
        Index("ix_cases_status_next_action_due_at", "status", "next_action_due_at"),
        UniqueConstraint("agency_id", "case_number", name="uq_cases_agency_id_case_number"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_number: Mapped[str] = mapped_column(String(32))
    """Human-friendly reference, `HVN-<year>-<6 digits>`, counted per agency (unique within
    the agency); carries no child data."""
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    """The caseworker responsible for the case."""
    status: Mapped[str] = mapped_column(String(16))
    """`open` or `closed`."""
    stage: Mapped[str] = mapped_column(String(32))
    """`registration`, `assessment`, `case_plan`, `implementation`, `follow_up` or `closure`."""
    risk_level: Mapped[str] = mapped_column(String(16))
    """`high`, `medium` or `low`: drives `next_action_due_at`."""
    restricted: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Readable only by the owner and the users on its access list (`case_access_list`); other
    supervisors of the agency see only these plain columns, for oversight."""
    version: Mapped[int] = mapped_column(Integer)
    """Optimistic-concurrency version: 1 at intake, +1 on every change (the ETag)."""
    data_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_keys.id"), unique=True)
    """The case's own wrapped data key; every ciphertext of the case is under it."""
    content: Mapped[bytes]
    """The case body (child, location, caregivers, concerns, narrative...) as encrypted JSON."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    stage_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    """When the case entered its current stage (or was reopened): the base of review dates."""
    next_action_due_at: Mapped[datetime | None]
    """When the next action is due, from the risk level; null once the case is closed."""
    closure_requested_at: Mapped[datetime | None]
    """When the case reached the `closure` stage (closure awaits a supervisor)."""
    closed_at: Mapped[datetime | None]
    assessed_at: Mapped[datetime | None]
    """When the first assessment was recorded (the stage gate to `case_plan`; until then the
    risk-based first-assessment deadline applies)."""
    plan_action_due_on: Mapped[date | None]
    """The earliest due date among the plan's open actions (planned or in progress)."""
    plan_review_due_on: Mapped[date | None]
    """The plan's review date; null while the case has no plan."""
    follow_up_due_on: Mapped[date | None]
    """The next follow-up, as the latest follow-up set it."""

    __mapper_args__ = {"version_id_col": version}


class CaseNote(Base):
    """A caseworker's note, encrypted under its case's data key."""

    __tablename__ = "case_notes"
    __table_args__ = (Index("ix_case_notes_case_id_created_at", "case_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    text_encrypted: Mapped[bytes]
    """The note's text, AES-GCM under the case's data key (table `case_notes`, field `text`)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseSearchToken(Base):
    """A blind-index token: truncated keyed HMAC of one normalised value of a case."""

    __tablename__ = "case_search_tokens"
    __table_args__ = (Index("ix_case_search_tokens_field_token", "field", "token"),)

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    """Which value was indexed: `given_name`, `family_name` or `full_name`."""
    token: Mapped[str] = mapped_column(String(64), primary_key=True)


class IdempotencyRecord(Base):
    """What a retried POST needs to return the first answer; no plaintext of the request."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("principal_id", "key_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    principal_id: Mapped[uuid.UUID]
    """The user or API client that sent the key (keys are per caller)."""
    key_hash: Mapped[str] = mapped_column(String(64))
    """Keyed HMAC-SHA-256 of the `Idempotency-Key` header (keyring purpose `idempotency-key`)."""
    fingerprint: Mapped[str] = mapped_column(String(64))
    """Keyed HMAC-SHA-256 of the operation and its canonical body: recognises a replay."""
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[uuid.UUID]
    case_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    """The case concerned (erasure removes the case's records); none for a tracing request."""
    status_code: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CaseTombstone(Base):
    """What remains of an erased case: its number, who erased it, when and why."""

    __tablename__ = "case_tombstones"
    __table_args__ = (
        UniqueConstraint(
            "agency_id", "case_number", name="uq_case_tombstones_agency_id_case_number"
        ),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(32))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    erased_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason_sealed: Mapped[bytes]
    """The operator's reason, sealed with the keyring's `tombstone` system key."""


class CaseNumberCounter(Base):
    """The last case number an agency handed out in a year. Each agency counts its own, so a
    case number says nothing about how many children other agencies register. The row is
    locked from an intake's last statement until its commit (`services/cases/numbers.py`)."""

    __tablename__ = "agency_case_counters"

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer)


class CaseTokenBacklog(Base):
    """A case whose duplicate-check tokens are not written yet: the cases registered before
    those tokens existed (a migration cannot compute them: it has no keyring). The duplicate
    check still compares an intake with these cases the old way (every namesake, decrypted),
    and the `reindex_cases` job writes their tokens and removes them from here."""

    __tablename__ = "case_token_backlog"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
