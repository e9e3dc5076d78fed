"""The encrypted case document: everything that describes the child, in one AES-GCM blob.

One blob per case (table `cases`, field `content`, bound to the case id) keeps "read one case"
to one unwrap and one decryption, and makes a partial update one re-encryption. The document is
canonical JSON (UTF-8, no ASCII escaping), so Arabic and Kurdish text round-trips exactly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from models.cases import Case
from services.cases.concerns import CONCERN_CODES
from services.crypto import decrypt_field, encrypt_field
from services.errors import FieldProblem, InvalidInput

CONTENT_TABLE = "cases"
CONTENT_FIELD = "content"

DOCUMENT_KEYS: tuple[str, ...] = (
    "child",
    "location",
    "caregivers",
    "separation_status",
    "protection_concerns",
    "narrative",
    "restriction_reason",
)
"""Top-level keys of the encrypted document (`risk_level` and `restricted` are plain routing
columns; the reason for restricting a case is kept with the child's record, under its key, and
is never a shared field)."""

CHILD_KEYS = (
    "given_name",
    "family_name",
    "sex",
    "date_of_birth",
    "estimated_age",
    "other_names",
    "father_name",
    "grandfather_name",
    "mother_name",
)
LOCATION_KEYS = ("governorate", "district", "address")

CASE_FIELD_PATHS: frozenset[str] = frozenset(
    {
        "child.given_name",
        "child.family_name",
        "child.sex",
        "child.date_of_birth",
        "child.estimated_age",
        "child.other_names",
        "child.father_name",
        "child.grandfather_name",
        "child.mother_name",
        "location.governorate",
        "location.district",
        "location.address",
        "caregivers",
        "separation_status",
        "protection_concerns",
        "risk_level",
        "narrative",
    }
)
"""Every path a referral may share (`shared_fields`)."""


def encrypt_document(dek: bytes, case_id: uuid.UUID, document: Mapping[str, Any]) -> bytes:
    data = json.dumps(
        {key: document.get(key) for key in DOCUMENT_KEYS},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")
    return encrypt_field(dek, data, table=CONTENT_TABLE, record_id=case_id, field=CONTENT_FIELD)


def decrypt_document(dek: bytes, case: Case) -> dict[str, Any]:
    data = decrypt_field(
        dek, case.content, table=CONTENT_TABLE, record_id=case.id, field=CONTENT_FIELD
    )
    document: dict[str, Any] = json.loads(data.decode("utf-8"))
    return document


def value_at(case: Case, document: Mapping[str, Any], path: str) -> Any:
    """The value of one shared-field path (`child.given_name`, `risk_level`, ...)."""
    if path not in CASE_FIELD_PATHS:
        raise KeyError(path)
    if path == "risk_level":
        return case.risk_level
    head, _, tail = path.partition(".")
    value = document.get(head)
    if tail:
        return value.get(tail) if isinstance(value, Mapping) else None
    return value


def values_at(case: Case, document: Mapping[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    return {path: value_at(case, document, path) for path in paths}


def full_name(document: Mapping[str, Any]) -> str:
    child = document.get("child") or {}
    return f"{child.get('given_name', '')} {child.get('family_name', '')}"


def date_of_birth(document: Mapping[str, Any]) -> str | None:
    child = document.get("child") or {}
    value = child.get("date_of_birth")
    return value if isinstance(value, str) else None


def validate_document(document: Mapping[str, Any], *, today: date) -> None:
    """Domain rules the request schema cannot express: known concern codes, no future birth."""
    problems: list[FieldProblem] = []
    concerns = document.get("protection_concerns") or []
    seen: set[str] = set()
    for index, code in enumerate(concerns):
        if code not in CONCERN_CODES:
            problems.append(
                FieldProblem(
                    ("body", "protection_concerns", index),
                    "Unknown concern code; see GET /api/v1/reference/concerns.",
                )
            )
        elif code in seen:
            problems.append(
                FieldProblem(("body", "protection_concerns", index), "Duplicate concern code.")
            )
        seen.add(code)
    dob = date_of_birth(document)
    if dob is not None and date.fromisoformat(dob) > today:
        problems.append(
            FieldProblem(("body", "child", "date_of_birth"), "Date of birth is in the future.")
        )
    if problems:
        raise InvalidInput(problems)
