"""What every casework use case shares: loading the case, the open-case rule, the audit call and
newest-first pages of a case's records."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from models.cases import Case
from services import audit
from services.cases.access import load_visible_case
from services.errors import Conflict, InvalidInput
from services.kit.cursor import Keyset, SortKey
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
    keyset = newest_keyset(order, at_col, id_col)
    rows = session.execute(keyset.select_page(statement, cursor=cursor, limit=limit)).scalars()
    page = keyset.split(
        rows.all(), limit, lambda row: (getattr(row, at_col.key), getattr(row, id_col.key))
    )
    return page.items, page.next_cursor


def newest_keyset(order: str, at_col: Any, id_col: Any) -> Keyset:
    return Keyset(
        order,
        (SortKey(at_col, datetime, descending=True), SortKey(id_col, uuid.UUID, descending=True)),
    )
