"""Need-to-know: restricted cases' access lists, break-glass uses, read tracking, alerts.

Nothing here names a child. Free text written by staff about an access (a break-glass reason, a
review note, the note that clears an alert) is sealed under the keyring's `oversight` system key,
because people under pressure write what they know into such fields.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, new_id, utcnow


class CaseAccess(Base):
    """One user on one case's access list: besides the owner, who may read a restricted case."""

    __tablename__ = "case_access_list"
    __table_args__ = (Index("ix_case_access_list_user_id_case_id", "user_id", "case_id"),)

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    added_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[bytes | None]
    """Why the user was given access, under the case's data key."""


class BreakGlassUse(Base):
    """A supervisor's emergency access to a restricted case it was not given, for a while.

    No foreign key to the case: the record of the use (and whether anyone reviewed it) must
    outlive the case's erasure.
    """

    __tablename__ = "break_glass_uses"
    __table_args__ = (
        Index("ix_break_glass_uses_user_id_case_id_expires_at", "user_id", "case_id", "expires_at"),
        Index("ix_break_glass_uses_agency_id_used_at", "agency_id", "used_at", "id"),
        Index("ix_break_glass_uses_reviewed_at_used_at", "reviewed_at", "used_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID]
    case_number: Mapped[str] = mapped_column(String(32))
    """Kept so a reviewer can name the case even after it was erased."""
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reason_sealed: Mapped[bytes]
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    """Access ends here (60 minutes after `used_at`)."""
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    review_note_sealed: Mapped[bytes | None]


class ReadTrack(Base):
    """The last time an actor opened one record it does not own (one row per actor and record).

    Counting an actor's rows newer than an hour answers "how many distinct records in the last
    hour" from one index, without reading the audit chain.
    """

    __tablename__ = "read_tracks"
    __table_args__ = (Index("ix_read_tracks_actor_id_read_at", "actor_id", "read_at"),)

    actor_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    """A user's id, or an API client's row id."""
    subject_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    """`case` (staff reads) or `referral` (partner reads)."""
    subject_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """An insider-risk signal for supervisors and auditors (`bulk_read`)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_agency_id_raised_at", "agency_id", "raised_at", "id"),
        Index("ix_alerts_actor_id_raised_at", "actor_id", "raised_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))
    """`bulk_read`."""
    actor_type: Mapped[str] = mapped_column(String(16))
    """`user` or `client`."""
    actor_id: Mapped[uuid.UUID]
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    """The actor's agency."""
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    distinct_reads: Mapped[int] = mapped_column(Integer)
    """How many distinct records the actor had opened in the hour when the alert was raised."""
    read_limit: Mapped[int] = mapped_column(Integer)
    """The limit in force then."""
    suspends: Mapped[bool] = mapped_column(default=False)
    """True when the alert suspended the actor's tokens until it is cleared."""
    cleared_at: Mapped[datetime | None]
    cleared_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    clear_note_sealed: Mapped[bytes | None]
