"""Wrapped data keys (one per case).

Keyring state itself (the KEKs) lives in the keyring, never in the database; a data key row names
the KEK version that wraps it, which is all rotation needs to resume after a crash.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, new_id, utcnow


class DataKey(Base):
    """A case's data-encryption key (DEK), stored only wrapped by a key-encryption key (KEK)."""

    __tablename__ = "data_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kek_version: Mapped[int] = mapped_column(Integer, index=True)
    """The KEK version that wraps `wrapped_key`; rotation re-wraps rows below the current one."""
    wrapped_key: Mapped[bytes | None]
    """The DEK encrypted under KEK `kek_version`; NULL once destroyed (crypto-shredding)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rewrapped_at: Mapped[datetime | None]
    """When rotation last re-wrapped this key."""
    destroyed_at: Mapped[datetime | None]
    """When the key was destroyed (case erasure); the row stays so references stay valid."""
