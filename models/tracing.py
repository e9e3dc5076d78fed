"""Family tracing: enquiries about a missing child, their keyed name tokens, potential matches.

Plain columns hold only what routes the work (ids, reference, agency, owner, status, version,
dates, a match's score). What the enquirer said (names, relationship, places, circumstances) is
one AES-256-GCM blob under the request's own data key; a match's note or reason is under the same
key. Name tokens (of requests and of cases) are keyed HMACs truncated to a few bits, so a dump
shows which records share a coarse bucket, never a name.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, new_id, utcnow

REQUEST_STATUSES = ("open", "matched", "reunified", "closed")
MATCH_STATUSES = ("proposed", "confirmed", "rejected")
TOKEN_FIELDS = ("child", "father", "grandfather", "mother", "family")
TOKEN_KINDS = ("skeleton", "phonetic")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class TracingRequest(Base):
    """An enquiry: someone looks for a child; encrypted under its own data key."""

    __tablename__ = "tracing_requests"
    __table_args__ = (
        CheckConstraint(_one_of("status", REQUEST_STATUSES), name="status"),
        Index("ix_tracing_requests_agency_id_created_at", "agency_id", "created_at", "id"),
        Index("ix_tracing_requests_owner_id_created_at", "owner_id", "created_at", "id"),
        Index("ix_tracing_requests_status", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    """Human-friendly reference, `TR-XXXX-XXXX` (random); carries no data."""
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16))
    """`open`, `matched`, `reunified` or `closed`."""
    version: Mapped[int] = mapped_column(Integer)
    data_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_keys.id"), unique=True)
    content: Mapped[bytes]
    """Enquirer, sought child, circumstances, reunification and closure details (encrypted)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class TracingRequestToken(Base):
    """A keyed, truncated token of one name key of a tracing request."""

    __tablename__ = "tracing_request_tokens"
    __table_args__ = (
        CheckConstraint(_one_of("field", TOKEN_FIELDS), name="field"),
        CheckConstraint(_one_of("kind", TOKEN_KINDS), name="kind"),
        Index("ix_tracing_request_tokens_lookup", "field", "kind", "token"),
    )

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tracing_requests.id", ondelete="CASCADE"), primary_key=True
    )
    field: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    token: Mapped[str] = mapped_column(String(8), primary_key=True)


class CaseTracingToken(Base):
    """A keyed, truncated token of one name key of a case (same keys as the requests')."""

    __tablename__ = "case_tracing_tokens"
    __table_args__ = (
        CheckConstraint(_one_of("field", TOKEN_FIELDS), name="field"),
        CheckConstraint(_one_of("kind", TOKEN_KINDS), name="kind"),
        Index("ix_case_tracing_tokens_lookup", "field", "kind", "token"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    field: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    token: Mapped[str] = mapped_column(String(8), primary_key=True)


class TracingMatch(Base):
    """A potential match between a request and a case: ids and score; a person decides."""

    __tablename__ = "tracing_matches"
    __table_args__ = (
        CheckConstraint(_one_of("status", MATCH_STATUSES), name="status"),
        Index("ix_tracing_matches_case_id", "case_id"),
    )

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tracing_requests.id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[float] = mapped_column(Float)
    """0..1, from the scorer; the label (`likely`/`possible`) is derived from it when read."""
    status: Mapped[str] = mapped_column(String(16))
    """`proposed`, `confirmed` or `rejected` (a rejected pair is never proposed again)."""
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[bytes | None]
    """The supervisor's note or reason, under the request's data key."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CaseReunification(Base):
    """The child's case's own record of a reunification (its timeline entry).

    The request keeps the enquirer's side under its key; this row repeats what the case's reader
    needs (date, with whom, note, the request's reference) under the case's key, so the timeline
    decrypts one key per case and erasing the case shreds it with the rest of the case.
    """

    __tablename__ = "case_reunifications"
    __table_args__ = (
        Index("ix_case_reunifications_case_id_recorded_at", "case_id", "recorded_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    tracing_request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tracing_requests.id", ondelete="CASCADE")
    )
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    content: Mapped[bytes]
    """`{reunified_on, with, note, reference}` under the case's data key."""
