"""The case API other areas (referrals) use: visibility, the case's data key, field values.

Everything here goes through `services.policy`; nothing bypasses `case_filter`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.cases import Case
from models.keys import DataKey
from services.actions import Action
from services.cases.content import CASE_FIELD_PATHS, decrypt_document, values_at
from services.crypto import (
    Keyring,
    KeyringError,
    WrappedKey,
    decrypt_field,
    encrypt_field,
    load_data_key,
)
from services.errors import Forbidden, NotFound
from services.policy import Principal, case_filter, require

__all__ = [
    "CASE_FIELD_PATHS",
    "case_data_key",
    "case_not_found",
    "decrypt_for_case",
    "encrypt_for_case",
    "load_visible_case",
    "load_visible_case_and_key",
    "read_case_fields",
    "require_on_case",
]


def case_not_found(action: Action, case_id: uuid.UUID) -> NotFound:
    return NotFound(
        "No case with that id.",
        action=action,
        resource_type="case",
        resource_id=case_id,
        case_id=case_id,
    )


def require_on_case(principal: Principal, action: Action, case_id: uuid.UUID) -> None:
    """`policy.require`, with the case named on the refusal (so the case's access log shows it)."""
    try:
        require(principal, action)
    except Forbidden as error:
        error.resource_type = "case"
        error.resource_id = str(case_id)
        error.case_id = case_id
        raise


def load_visible_case(
    session: Session,
    principal: Principal,
    case_id: uuid.UUID,
    action: Action,
    *,
    for_update: bool = False,
) -> Case:
    """`require(principal, action)`, then the case through `policy.case_filter`, else 404.

    `for_update=True` locks the row until the transaction ends (PostgreSQL; SQLite's
    transactions already hold the write lock), so concurrent writers queue on it.
    """
    require_on_case(principal, action, case_id)
    query = select(Case).where(
        Case.id == case_id, case_filter(principal, Case.agency_id, Case.owner_id)
    )
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    case = session.execute(query).scalar_one_or_none()
    if case is None:
        raise case_not_found(action, case_id)
    return case


def load_visible_case_and_key(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    action: Action,
    *,
    for_update: bool = False,
) -> tuple[Case, bytes]:
    """`load_visible_case`, and the case's unwrapped data key from the same query (one round
    trip less than loading the key afterwards; the update path's cost is mostly round trips).
    With `for_update` only the case row is locked, as `load_visible_case` locks it."""
    require_on_case(principal, action, case_id)
    query = (
        select(Case, DataKey.kek_version, DataKey.wrapped_key)
        .join(DataKey, DataKey.id == Case.data_key_id)
        .where(Case.id == case_id, case_filter(principal, Case.agency_id, Case.owner_id))
    )
    if for_update:
        query = query.with_for_update(of=Case).execution_options(populate_existing=True)
    row = session.execute(query).first()
    if row is None:
        raise case_not_found(action, case_id)
    case, kek_version, wrapped = row
    if wrapped is None:
        raise KeyringError(f"data key {case.data_key_id} has been destroyed")
    return case, keyring.unwrap_data_key(WrappedKey(kek_version=kek_version, blob=wrapped))


def case_data_key(session: Session, keyring: Keyring, case: Case) -> bytes:
    return load_data_key(session, keyring, case.data_key_id)


def read_case_fields(
    session: Session, keyring: Keyring, case: Case, paths: Iterable[str]
) -> dict[str, Any]:
    """Decrypted values for just these paths (each one of `CASE_FIELD_PATHS`, else KeyError)."""
    wanted = list(paths)
    unknown = [p for p in wanted if p not in CASE_FIELD_PATHS]
    if unknown:
        raise KeyError(unknown[0])
    if wanted == ["risk_level"]:
        return {"risk_level": case.risk_level}
    document = decrypt_document(case_data_key(session, keyring, case), case)
    return values_at(case, document, wanted)


def encrypt_for_case(
    dek: bytes, plaintext: str, *, table: str, record_id: uuid.UUID, field: str
) -> bytes:
    return encrypt_field(
        dek, plaintext.encode("utf-8"), table=table, record_id=record_id, field=field
    )


def decrypt_for_case(
    dek: bytes, blob: bytes, *, table: str, record_id: uuid.UUID, field: str
) -> str:
    return decrypt_field(dek, blob, table=table, record_id=record_id, field=field).decode("utf-8")
