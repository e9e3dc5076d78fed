"""Sealing a case's records: one JSON document per row, under the case's own data key.

The associated data binds each blob to its table and row (as every field of a case is) and, in
the field name, to its case and its kind (`assessment:initial@<case id>`), so a blob copied to
another row, another case or another kind of record fails to decrypt. JSON is canonical (UTF-8,
no ASCII escaping, sorted keys) so Arabic and Kurdish text round-trips exactly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from services.crypto import decrypt_field, encrypt_field


def _field(case_id: uuid.UUID, kind: str) -> str:
    return f"{kind}@{case_id}"


def seal_record(
    dek: bytes,
    document: Mapping[str, Any],
    *,
    table: str,
    record_id: uuid.UUID,
    case_id: uuid.UUID,
    kind: str,
) -> bytes:
    data = json.dumps(
        document, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode("utf-8")
    return encrypt_field(dek, data, table=table, record_id=record_id, field=_field(case_id, kind))


def open_record(
    dek: bytes,
    blob: bytes,
    *,
    table: str,
    record_id: uuid.UUID,
    case_id: uuid.UUID,
    kind: str,
) -> dict[str, Any]:
    data = decrypt_field(dek, blob, table=table, record_id=record_id, field=_field(case_id, kind))
    document: dict[str, Any] = json.loads(data.decode("utf-8"))
    return document
