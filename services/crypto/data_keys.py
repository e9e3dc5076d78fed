"""Data keys in the `data_keys` table: create (wrapped under the current KEK), load, destroy.

No unwrapped key is cached between calls: an unwrap is a few microseconds of AES next to the
database read that fetches the wrapped key, and a per-process cache would let one worker keep
using a key another worker has destroyed (erasure must take effect everywhere at once).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.keys import DataKey
from services.crypto.envelope import new_data_key
from services.crypto.errors import KeyringError
from services.crypto.keyring import Keyring, WrappedKey


def create_data_key(session: Session, keyring: Keyring) -> tuple[uuid.UUID, bytes]:
    """A fresh DEK, stored wrapped under the current KEK; returns (data_key_id, dek). Flushed."""
    dek = new_data_key()
    wrapped = keyring.wrap_data_key(dek)
    row = DataKey(kek_version=wrapped.kek_version, wrapped_key=wrapped.blob)
    session.add(row)
    session.flush()
    if not keyring.holds_kek_version(wrapped.kek_version):
        # `haven keys retire` destroyed that version while this insert waited for its table lock
        wrapped = keyring.wrap_data_key(dek)
        row.kek_version, row.wrapped_key = wrapped.kek_version, wrapped.blob
        session.flush()
    return row.id, dek


def _unwrap(keyring: Keyring, row: DataKey) -> bytes:
    if row.wrapped_key is None:
        raise KeyringError(f"data key {row.id} has been destroyed")
    return keyring.unwrap_data_key(WrappedKey(kek_version=row.kek_version, blob=row.wrapped_key))


def load_data_key(session: Session, keyring: Keyring, data_key_id: uuid.UUID) -> bytes:
    """The unwrapped DEK; `KeyringError` when it does not exist or was destroyed."""
    row = session.get(DataKey, data_key_id, populate_existing=True)
    if row is None:
        raise KeyringError(f"data key {data_key_id} does not exist")
    return _unwrap(keyring, row)


def load_data_keys(
    session: Session, keyring: Keyring, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, bytes]:
    """Unwrapped DEKs for many ids in one query (for lists); missing or destroyed ids raise."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.scalars(
        select(DataKey).where(DataKey.id.in_(wanted)).execution_options(populate_existing=True)
    ).all()
    found = {row.id: _unwrap(keyring, row) for row in rows}
    missing = wanted - found.keys()
    if missing:
        raise KeyringError(f"{len(missing)} data key(s) do not exist")
    return found


def destroy_data_key(session: Session, data_key_id: uuid.UUID) -> None:
    """Crypto-shredding: forget the wrapped DEK for good (the row stays as a marker). Flushed.

    Idempotent; `KeyringError` when no such data key exists."""
    row = session.get(DataKey, data_key_id, populate_existing=True)
    if row is None:
        raise KeyringError(f"data key {data_key_id} does not exist")
    if row.destroyed_at is None or row.wrapped_key is not None:
        row.wrapped_key = None
        row.destroyed_at = row.destroyed_at or utcnow()
        session.flush()
