"""A case's access list: `GET|POST /cases/{id}/access-list`, `DELETE .../access-list/{user_id}`.

The list names who, besides the owner, reads a restricted case (a listed caseworker also reads
an unrestricted one it does not own: the list is how a case is shared with a colleague). Whoever
may read the case sees the list; only the owner or a supervisor who may read the case changes
it. A listed user must be an active caseworker or supervisor of the case's agency: anyone else
is "no such user" (404), so the endpoint reveals nothing about other agencies' staff. Each
change, and its reason (kept encrypted under the case's key), is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.access import CaseAccess
from models.cases import Case
from models.identity import User
from services import audit
from services.actions import Action
from services.cases.access import (
    case_data_key,
    decrypt_for_case,
    encrypt_for_case,
    load_visible_case,
)
from services.crypto import Keyring
from services.errors import FieldProblem, Forbidden, InvalidInput, NotFound
from services.policy import Principal, Role

TABLE = "case_access_list"
MAX_LISTED = 50
"""A restricted case is for named people; a longer list defeats the restriction."""
_READING_ROLES = (Role.SUPERVISOR.value, Role.CASEWORKER.value)


@dataclass(frozen=True)
class AccessEntry:
    case_id: uuid.UUID
    user_id: uuid.UUID
    username: str
    role: str
    added_by: uuid.UUID
    added_at: datetime
    reason: str | None
    created: bool = True
    """False when the user was already listed (the existing entry is returned)."""


def _aad_id(case_id: uuid.UUID, user_id: uuid.UUID) -> uuid.UUID:
    """The ciphertext is bound to the pair, so a reason cannot be moved to another entry."""
    return uuid.uuid5(case_id, str(user_id))


def _entry(dek: bytes, row: CaseAccess, user: User, *, created: bool = True) -> AccessEntry:
    reason = (
        decrypt_for_case(
            dek,
            row.reason,
            table=TABLE,
            record_id=_aad_id(row.case_id, row.user_id),
            field="reason",
        )
        if row.reason is not None
        else None
    )
    return AccessEntry(
        case_id=row.case_id,
        user_id=row.user_id,
        username=user.username,
        role=user.role,
        added_by=row.added_by,
        added_at=row.added_at,
        reason=reason,
        created=created,
    )


def _may_change(principal: Principal, case: Case, action: Action) -> None:
    if principal.role == Role.SUPERVISOR or case.owner_id == principal.id:
        return
    raise Forbidden(
        "Only the case's owner or a supervisor changes its access list.",
        action=action,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
    )


def list_access(
    session: Session, keyring: Keyring, principal: Principal, case_id: uuid.UUID
) -> list[AccessEntry]:
    case = load_visible_case(session, principal, case_id, Action.CASE_ACCESS_LIST)
    rows = session.execute(
        select(CaseAccess, User)
        .join(User, User.id == CaseAccess.user_id)
        .where(CaseAccess.case_id == case.id)
        .order_by(CaseAccess.added_at, CaseAccess.user_id)
    ).all()
    dek = case_data_key(session, keyring, case) if rows else b""
    entries = [_entry(dek, row, user) for row, user in rows]
    audit.record(
        session,
        principal,
        Action.CASE_ACCESS_LIST,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        detail={"count": len(entries)},
    )
    return entries


def grant_access(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    user_id: uuid.UUID,
    reason: str | None = None,
) -> AccessEntry:
    action = Action.CASE_ACCESS_GRANT
    case = load_visible_case(session, principal, case_id, action, for_update=True)
    _may_change(principal, case, action)
    user = session.execute(
        select(User).where(
            User.id == user_id,
            User.agency_id == case.agency_id,
            User.role.in_(_READING_ROLES),
            User.is_active.is_(True),
        )
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(
            "No active caseworker or supervisor of the case's agency with that id.",
            action=action,
            resource_type="user",
            resource_id=user_id,
            case_id=case.id,
        )
    if user.id == case.owner_id:
        raise InvalidInput([FieldProblem(("body", "user_id"), "The owner always reads the case.")])
    dek = case_data_key(session, keyring, case)
    existing = session.get(CaseAccess, (case.id, user.id))
    if existing is not None:
        return _entry(dek, existing, user, created=False)
    listed = session.scalar(select(func.count()).where(CaseAccess.case_id == case.id)) or 0
    if listed >= MAX_LISTED:
        raise InvalidInput(
            [FieldProblem(("body", "user_id"), f"At most {MAX_LISTED} users may be listed.")]
        )
    row = CaseAccess(case_id=case.id, user_id=user.id, added_by=principal.id)
    if reason is not None:
        row.reason = encrypt_for_case(
            dek, reason, table=TABLE, record_id=_aad_id(case.id, user.id), field="reason"
        )
    session.add(row)
    session.flush()
    audit.record(
        session,
        principal,
        action,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        detail={"user_id": str(user.id), "reason_given": reason is not None},
    )
    return _entry(dek, row, user)


def revoke_access(
    session: Session,
    principal: Principal,
    case_id: uuid.UUID,
    user_id: uuid.UUID,
) -> None:
    action = Action.CASE_ACCESS_REVOKE
    case = load_visible_case(session, principal, case_id, action, for_update=True)
    _may_change(principal, case, action)
    row = session.get(CaseAccess, (case.id, user_id))
    if row is None:
        raise NotFound(
            "That user is not on the case's access list.",
            action=action,
            resource_type="user",
            resource_id=user_id,
            case_id=case.id,
        )
    session.delete(row)
    session.flush()
    audit.record(
        session,
        principal,
        action,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        detail={"user_id": str(user_id), "self": user_id == principal.id},
    )
