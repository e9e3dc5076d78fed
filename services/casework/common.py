"""What every casework use case shares: loading the case, the open-case rule, the audit call and
newest-first pages of a case's records."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from models.cases import Case
from services import audit
from services.cases.access import load_visible_case
from services.cases.cursor import decode_cursor, encode_cursor
from services.errors import Conflict, InvalidInput
from services.policy import Action, Principal

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T] = field(default_factory=list)
    next_cursor: str | None = None


def load_case(
    session: Session,
    principal: Principal,
    case_id: uuid.UUID,
    action: Action,
    *,
    for_update: bool = False,
) -> Case:
    """The case through the one visibility rule (404 if the caller may not see it)."""
    return load_visible_case(session, principal, case_id, action, for_update=for_update)


def require_open(case: Case) -> None:
    if case.status != "open":
        raise Conflict("The case is closed; a supervisor may reopen it.")


def record(
    session: Session,
    principal: Principal,
    action: Action,
    *,
    resource_type: str,
    resource_id: uuid.UUID | None,
    case_id: uuid.UUID,
    fields: Iterable[str] = (),
    detail: dict[str, Any] | None = None,
) -> None:
    """One audit event: field names only, never values."""
    audit.record(
        session,
        principal,
        action,
        resource_type=resource_type,
        resource_id=resource_id,
        case_id=case_id,
        fields=list(fields),
        detail=detail,
    )


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.field(("query", "limit"), f"Must be between 1 and {MAX_LIMIT}.")


def newest_first(
    session: Session,
    statement: Select[Any],
    *,
    order: str,
    at_col: Any,
    id_col: Any,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[Any], str | None]:
    """Rows of `statement`, newest first by (`at_col`, `id_col`), one page after `cursor`."""
    check_limit(limit)
    if cursor is not None:
        at, last_id = decode_cursor(cursor, order)
        statement = statement.where(or_(at_col < at, and_(at_col == at, id_col < last_id)))
    rows = list(
        session.execute(statement.order_by(at_col.desc(), id_col.desc()).limit(limit + 1))
        .scalars()
        .all()
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not has_more:
        return rows, None
    last = rows[-1]
    return rows, encode_cursor(order, getattr(last, at_col.key), getattr(last, id_col.key))
