"""Referrals from a case to a partner agency, and the partner's progress updates.

Plain columns hold only what routes and schedules the work (agencies, service, urgency, state,
who decided what and when). Every free text (reason, consent note or override justification,
rejection/decline/cancel reasons, outcome, update notes) is encrypted under the case's data key,
bound to its table, row id and field, so erasing the case (destroying its key) shreds it too.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, new_id, utcnow


class Referral(Base):
    """A request from the case's agency to another agency for one service."""

    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_from_agency_id_status", "from_agency_id", "status"),
        Index("ix_referrals_to_agency_id_status", "to_agency_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    from_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    """The referring agency (the case's agency when the referral was made)."""
    to_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    """The receiving agency: its API clients respond to the referral."""
    service_type: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    """`high`, `medium` or `low`: sets how long the partner has to answer."""
    status: Mapped[str] = mapped_column(String(32))
    """State machine in `services/referrals/states.py`."""
    version: Mapped[int] = mapped_column(default=1)
    """1 when created, +1 on every change; transitions compare-and-set it."""
    shared_fields: Mapped[list[str]] = mapped_column(JSON)
    """Paths of the case body the partner may see (names only, never values)."""

    reason_encrypted: Mapped[bytes]
    """Encrypted: why the child is referred."""
    consent_given_by: Mapped[str] = mapped_column(String(32))
    """`caregiver`, `child` or `best_interest_override`."""
    consent_obtained_at: Mapped[datetime]
    consent_note_encrypted: Mapped[bytes | None]
    """Encrypted: consent note; for `best_interest_override` the required justification."""

    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    """When the supervisor approved it, i.e. when it was sent to the partner."""
    respond_due_at: Mapped[datetime | None]
    """Set when sent: after this, a referral still `sent` is overdue."""
    rejected_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    rejected_at: Mapped[datetime | None]
    rejection_reason_encrypted: Mapped[bytes | None]
    """Encrypted: the supervisor's reason for rejecting."""

    responded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_clients.id"))
    """The partner API client that accepted or declined."""
    responded_at: Mapped[datetime | None]
    decline_reason_encrypted: Mapped[bytes | None]
    """Encrypted: the partner's reason for declining."""
    completed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_clients.id"))
    completed_at: Mapped[datetime | None]
    outcome_encrypted: Mapped[bytes | None]
    """Encrypted: the partner's outcome report."""

    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None]
    cancel_reason_encrypted: Mapped[bytes | None]
    """Encrypted: why it was cancelled."""
    consent_withdrawn_at: Mapped[datetime | None]
    """Set when the cancel recorded that consent was withdrawn."""
    consent_withdrawn_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    """The staff user who recorded the withdrawal of consent."""


class ReferralUpdate(Base):
    """A progress note on a referral (posted by the receiving partner)."""

    __tablename__ = "referral_updates"
    __table_args__ = (
        Index("ix_referral_updates_referral_id_created_at", "referral_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    author_type: Mapped[str] = mapped_column(String(16))
    """`client` (a partner API client) or `user`."""
    author_id: Mapped[uuid.UUID]
    """The API client's row id or the user's id, per `author_type`."""
    author_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    note_encrypted: Mapped[bytes]
    """Encrypted: the update's text."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
