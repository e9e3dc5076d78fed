"""The append-only, hash-chained audit log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_case_id_seq", "case_id", "seq"),
        Index("ix_audit_events_actor_id_seq", "actor_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """Position in the chain: 1, 2, 3 ... with no gaps."""
    at: Mapped[datetime]
    actor_type: Mapped[str] = mapped_column(String(16))
    """`user`, `client` or `anonymous`."""
    actor_id: Mapped[uuid.UUID | None]
    actor_role: Mapped[str | None] = mapped_column(String(32))
    actor_scopes: Mapped[str | None] = mapped_column(String(255))
    """Space-separated OAuth scopes of a client actor."""
    actor_agency_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(64), index=True)
    resource_type: Mapped[str | None] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[uuid.UUID | None]
    """The case the event concerns, for the case's access log (also set on referral events)."""
    fields: Mapped[str | None] = mapped_column(Text)
    """JSON list of field names touched: names only, never values."""
    outcome: Mapped[str] = mapped_column(String(16))
    client_address: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    """JSON object of non-sensitive context (status codes, target ids, counts)."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 over the canonical content of this row and `prev_hash`."""


class AuditEventCase(Base):
    """Which cases a list or search event returned: an index for the cases' access logs.

    A list writes one audit event naming every returned case id in its `detail`, which the
    chain's hash covers; these rows, written in the same transaction, let a case's access log
    find that event without reading every list event. Insert-only, like the events.
    """

    __tablename__ = "audit_event_cases"

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """The list event's `seq` (no foreign key: nothing may stand in the way of the events)."""


class AnonymousRefusalWindow(Base):
    """Refusals of unauthenticated requests from one client address in the current window.

    The first refusal of a window is audited as its own event; the others only increment
    `count` here (in the refusal's own committed transaction), and the window is written to the
    audit log as one summary event when it ends (`services.audit.anonymous`). The counter is in
    the database so that every worker process shares it and nothing counted is lost when one
    stops."""

    __tablename__ = "anonymous_refusal_windows"

    client_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The address as the audit log names it (empty when the server saw none)."""
    started_at: Mapped[datetime]
    """When the window's first refusal (the one audited as its own event) happened."""
    last_at: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer)
    """Refusals in the window, the first included."""
    throttled: Mapped[int] = mapped_column(Integer)
    """How many of them were answered 429 (over `anonymous_max_refusals`)."""
