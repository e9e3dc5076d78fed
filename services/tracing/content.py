"""The encrypted document of a tracing request: what the enquirer said, and what happened.

One AES-256-GCM blob per request (table `tracing_requests`, field `content`, bound to the
request id) under the request's own data key; canonical JSON (UTF-8, no ASCII escaping), so
names in any script round-trip exactly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from models.tracing import TracingRequest
from services.crypto import Keyring, decrypt_field, encrypt_field, load_data_key

TABLE = "tracing_requests"
CONTENT_FIELD = "content"
DOCUMENT_KEYS = ("enquirer", "sought", "circumstances", "reunification", "closure")


def encrypt_document(dek: bytes, request_id: uuid.UUID, document: Mapping[str, Any]) -> bytes:
    data = json.dumps(
        {key: document.get(key) for key in DOCUMENT_KEYS},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")
    return encrypt_field(dek, data, table=TABLE, record_id=request_id, field=CONTENT_FIELD)


def decrypt_document(dek: bytes, request: TracingRequest) -> dict[str, Any]:
    data = decrypt_field(
        dek, request.content, table=TABLE, record_id=request.id, field=CONTENT_FIELD
    )
    document: dict[str, Any] = json.loads(data.decode("utf-8"))
    return document


def request_data_key(session: Session, keyring: Keyring, request: TracingRequest) -> bytes:
    return load_data_key(session, keyring, request.data_key_id)
