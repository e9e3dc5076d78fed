"""Canonical encoding and hashing of audit rows. The single definition `verify` relies on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64

CHAINED_COLUMNS = (
    "seq",
    "at",
    "actor_type",
    "actor_id",
    "actor_role",
    "actor_scopes",
    "actor_agency_id",
    "action",
    "resource_type",
    "resource_id",
    "case_id",
    "fields",
    "outcome",
    "client_address",
    "request_id",
    "detail",
    "prev_hash",
)


def _canonical_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def canonical_bytes(row: Mapping[str, Any]) -> bytes:
    """Every chained column, in a fixed order, as compact ASCII JSON (escapes all controls)."""
    content = [[name, _canonical_value(row[name])] for name in CHAINED_COLUMNS]
    return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def row_hash(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(row)).hexdigest()
