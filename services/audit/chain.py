"""Canonical encoding and hashing of audit rows: the single definition `verify` relies on.

A row's hash is SHA-256 over a compact ASCII JSON array: a version tag, then every chained column
in `CHAINED_COLUMNS` order (`prev_hash` last, so each hash covers its predecessor). Times are
ISO 8601 UTC with microseconds (`datetime.isoformat()` of an aware UTC value: always
`YYYY-MM-DDTHH:MM:SS.ffffff+00:00`), UUIDs 32 lowercase hex digits, everything else as
stored. `ensure_ascii` escapes every control and non-ASCII character, so a value chosen by a
user cannot break out of its slot or forge a log line.

The encoding takes a plain tuple in column order. `verify` has the database render times and
UUIDs in exactly this text form (`canonical_select_columns`), so it hashes rows as they arrive,
with no per-column work in Python (it must stream a million rows quickly).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, Text, cast, func, literal, type_coerce

from models.audit import AuditEvent

GENESIS_HASH = "0" * 64
CHAIN_VERSION = "haven-audit-v1"

CHAINED_COLUMNS = (
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
    "seq",
    "prev_hash",
)
"""`seq` and `prev_hash` come last, so the canonical bytes are a content prefix followed by
`<seq>,"<prev_hash>"]`: PostgreSQL appends the chain position itself, under the chain lock, in
one call (`haven_audit_append`, migration 0002), while Python prepares the prefix beforehand."""
CONTENT_COLUMNS = CHAINED_COLUMNS[:-2]
_AT = CHAINED_COLUMNS.index("at")
_UUID_NAMES = ("actor_id", "actor_agency_id", "case_id")
_UUIDS = tuple(CHAINED_COLUMNS.index(name) for name in _UUID_NAMES)
_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


def _at_text(value: datetime) -> str:
    if value.utcoffset() is None or value.utcoffset():
        raise ValueError("audit times must be timezone-aware UTC")
    return value.isoformat(timespec="microseconds")


def canonical_tuple_bytes(values: Sequence[Any]) -> bytes:
    """The canonical bytes of one row given as a tuple in `CHAINED_COLUMNS` order."""
    items: list[Any] = [CHAIN_VERSION, *values]
    items[_AT + 1] = _at_text(values[_AT])
    for index in _UUIDS:
        value = values[index]
        if value is not None:
            items[index + 1] = value.hex
    return _ENCODER.encode(items).encode("ascii")


def tuple_hash(values: Sequence[Any]) -> str:
    return hashlib.sha256(canonical_tuple_bytes(values)).hexdigest()


def content_prefix(row: Mapping[str, Any]) -> str:
    """The canonical text of a row up to its chain position: everything but `seq`, `prev_hash`
    and the closing bracket. `chained_hash(prefix, seq, prev)` completes it."""
    full = canonical_tuple_bytes([*(row[name] for name in CONTENT_COLUMNS), 0, ""]).decode()
    return full[: -len('0,""]')]


def chained_hash(prefix: str, seq: int, prev_hash: str) -> str:
    return hashlib.sha256(f'{prefix}{seq},"{prev_hash}"]'.encode("ascii")).hexdigest()


def canonical_bytes(row: Mapping[str, Any]) -> bytes:
    """The canonical bytes of one row given as a mapping of column name to value."""
    return canonical_tuple_bytes([row[name] for name in CHAINED_COLUMNS])


def row_hash(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(row)).hexdigest()


def canonical_select_columns(dialect_name: str) -> list[ColumnElement[Any]]:
    """The chained columns as SQL expressions that yield exactly the canonical values (times and
    UUIDs as text), for `verify`. The same definition as `canonical_tuple_bytes`: a test checks
    both agree on each backend."""
    table = AuditEvent.__table__
    columns: list[ColumnElement[Any]] = []
    for name in CHAINED_COLUMNS:
        column = table.c[name]
        if name == "at":
            if dialect_name == "postgresql":
                text_at = func.to_char(
                    func.timezone("UTC", column), literal('YYYY-MM-DD"T"HH24:MI:SS.US')
                )
            else:  # SQLite stores `YYYY-MM-DD HH:MM:SS.ffffff` (UTC; see models/base.py)
                text_at = func.replace(type_coerce(column, String), " ", "T")
            columns.append(type_coerce(text_at.concat("+00:00"), String))
        elif name in _UUID_NAMES:
            if dialect_name == "postgresql":
                columns.append(type_coerce(func.replace(cast(column, Text), "-", ""), String))
            else:  # SQLite stores UUIDs as 32 lowercase hex digits
                columns.append(type_coerce(column, String))
        else:
            columns.append(column)
    return columns
