"""Sealing the free text staff write about an access (break-glass reasons, review notes, the
note that clears an alert) under the keyring's `oversight` system key, bound to its record."""

from __future__ import annotations

import uuid

from services.crypto import Keyring, open_sealed, seal

PURPOSE = "oversight"


def _aad(table: str, record_id: uuid.UUID, field: str) -> bytes:
    return f"{table}:{record_id}:{field}".encode("ascii")


def seal_text(
    keyring: Keyring, text: str, *, table: str, record_id: uuid.UUID, field: str
) -> bytes:
    return seal(keyring.system_key(PURPOSE), text.encode("utf-8"), _aad(table, record_id, field))


def open_text(
    keyring: Keyring, blob: bytes | None, *, table: str, record_id: uuid.UUID, field: str
) -> str | None:
    if blob is None:
        return None
    return open_sealed(keyring.system_key(PURPOSE), blob, _aad(table, record_id, field)).decode(
        "utf-8"
    )
