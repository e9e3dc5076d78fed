"""Partial update: `PATCH /cases/{id}` with `If-Match` (missing 428, stale 412).

`changes` holds only the fields the caller sent (JSON form). `child` and `location` merge key by
key; lists (`caregivers`, `protection_concerns`) and scalars replace. The audit event names the
changed field paths, never their values.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from models.base import utcnow
from models.cases import Case
from services import audit
from services.actions import Action
from services.cases.access import load_visible_case_and_key, require_on_case
from services.cases.concurrency import CASE_VERSIONS
from services.cases.content import (
    DOCUMENT_KEYS,
    decrypt_document,
    encrypt_document,
    validate_document,
)
from services.cases.enums import CaseStatus
from services.cases.listeners import child_changed
from services.cases.restriction import check_may_restrict, keep_restrictor_in, record_restriction
from services.cases.schedule import reschedule
from services.cases.search_index import indexed_values, write_tokens
from services.cases.views import CaseView
from services.config import Settings
from services.crypto import Keyring
from services.errors import Conflict
from services.policy import Principal

MERGED_KEYS = ("child", "location")


def apply_changes(
    document: Mapping[str, Any], changes: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The new document and the paths that really changed (`risk_level` is not in documents)."""
    updated = copy.deepcopy(dict(document))
    changed: list[str] = []
    for key, value in changes.items():
        if key not in DOCUMENT_KEYS:
            continue
        if key in MERGED_KEYS and isinstance(value, Mapping):
            section = dict(updated.get(key) or {})
            for sub, sub_value in value.items():
                if section.get(sub) != sub_value:
                    section[sub] = sub_value
                    changed.append(f"{key}.{sub}")
            updated[key] = section
        elif updated.get(key) != value:
            updated[key] = value
            changed.append(key)
    return updated, changed


def _restriction_change(
    principal: Principal, case: Case, changes: Mapping[str, Any]
) -> bool | None:
    """The new value of `restricted` when the caller changes it (and may), else None."""
    wanted = changes.get("restricted")
    if wanted is None or bool(wanted) == case.restricted:
        return None
    check_may_restrict(principal, case)
    return bool(wanted)


def _reindex(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    case: Case,
    document: Mapping[str, Any],
    updated: dict[str, Any],
) -> None:
    """Refresh what is derived from the child's names: search tokens and tracing keys."""
    registered = case.created_at.date()
    if indexed_values(updated, registered) != indexed_values(document, registered):
        write_tokens(session, keyring, settings, case.id, updated, registered=registered)
    if updated.get("child") != document.get("child"):
        child_changed(session, keyring, settings, case, updated, new=False)


def update_case(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    case_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    if_match: str | None,
) -> CaseView:
    require_on_case(principal, Action.CASE_UPDATE, case_id)
    expected = CASE_VERSIONS.parse_if_match(if_match, required=True)
    case, dek = load_visible_case_and_key(
        session, keyring, principal, case_id, Action.CASE_UPDATE, for_update=True
    )
    CASE_VERSIONS.check(case.version, expected)
    if case.status == CaseStatus.CLOSED:
        raise Conflict("A closed case cannot be changed; a supervisor may reopen it.")
    document = decrypt_document(dek, case)
    updated, changed = apply_changes(document, changes)
    validate_document(updated, today=utcnow().date())
    new_risk = changes.get("risk_level")
    if new_risk is not None and new_risk != case.risk_level:
        changed.append("risk_level")
    restricting = _restriction_change(principal, case, changes)
    if restricting is not None:
        changed.append("restricted")
    if changed:
        if set(changed) - {"risk_level", "restricted"}:
            case.content = encrypt_document(dek, case.id, updated)
        if restricting is not None:
            case.restricted = restricting
            if restricting:
                keep_restrictor_in(session, principal, case)
        if "risk_level" in changed:
            case.risk_level = str(new_risk)
            reschedule(settings, case)
        case.updated_at = utcnow()
        CASE_VERSIONS.flush(session)
        _reindex(session, keyring, settings, case, document, updated)
    audit.record(
        session,
        principal,
        Action.CASE_UPDATE,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        fields=changed,
    )
    if "restricted" in changed:
        record_restriction(session, principal, case, updated)
    return CaseView(case, updated)
