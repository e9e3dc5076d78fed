"""Keyset cursors: `?cursor=` in, `next_cursor` out, for every list endpoint.

A listing declares its order once, as a `Keyset`: a name and the sort keys, the last of which
is unique (usually the row id), e.g.

    RECENT = Keyset("recent", (SortKey(Case.created_at, datetime, descending=True),
                               SortKey(Case.id, uuid.UUID, descending=True)))

    statement = RECENT.select_page(statement, cursor=query.cursor, limit=limit)
    page = RECENT.split(session.scalars(statement).all(), limit, lambda c: (c.created_at, c.id))

`select_page` orders the query, keeps only the rows after the cursor and fetches one row more
than the page, so `split` knows whether a next page exists and encodes its cursor from the last
row served. Rows written meanwhile never shift a page (no OFFSET).

A cursor is opaque to callers: base64url of `{"o": <listing name>, "k": [<key values>]}`. It is
decoded strictly, because callers can forge it: a cursor of another listing, a value of the
wrong type, a time outside the supported years or an integer out of its range is a 422 naming
`cursor`, never a 500. An empty cursor is the first page.

One documented exception, `Keyset(..., plain_position=True)`: the audit log's cursor is the
last `seq` served in ASCII digits, a chain position auditors quote and compare; there an empty
cursor is a 422 like any other that is not digits.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import ColumnElement, Select, and_, or_

from models.base import in_supported_range
from services.errors import InvalidInput
from services.kit.pages import Page

CURSOR_LOC: tuple[str | int, ...] = ("query", "cursor")
BAD_CURSOR = "Not a cursor from this list; start again without it."
MAX_CURSOR_LENGTH = 1024
"""Longer than any cursor we issue (the API also caps the query parameter)."""
_VALUE_LENGTH = 64
"""The longest text form of a datetime or UUID key we accept."""
_POSITION = re.compile(r"[0-9]{1,18}")
"""ASCII digits only (`str.isdigit` also takes "①" and "²"), at most 18 of them, so a position
always fits the database's 64-bit integer."""

R = TypeVar("R")
Ts = TypeVarTuple("Ts")
KeyType = type[datetime] | type[uuid.UUID] | type[int] | type[str]


def bad_cursor() -> InvalidInput:
    """The one answer to a cursor we did not issue (422 naming `cursor`)."""
    return InvalidInput.field(CURSOR_LOC, BAD_CURSOR)


@dataclass(frozen=True)
class SortKey:
    """One key of a listing's order: a column (or SQL expression) and the Python type of its
    values (`datetime`, `uuid.UUID`, `int` or `str`)."""

    column: Any
    kind: KeyType
    descending: bool = False
    bound: int = 200
    """`int`: values lie in 0..bound-1 (e.g. a rank); `str`: at most `bound` characters.
    Anything else never came from us (and a huge integer would overflow the database's)."""

    def decode(self, value: Any) -> Any:
        """The key value a cursor holds, checked; ValueError when it is not one of ours."""
        if self.kind is datetime and isinstance(value, str) and len(value) <= _VALUE_LENGTH:
            parsed = datetime.fromisoformat(value)
            # Our cursors hold aware times in the supported years; converting any other time
            # to UTC could overflow.
            if parsed.tzinfo is None or not in_supported_range(parsed):
                raise ValueError("time out of range")
            return parsed
        if self.kind is uuid.UUID and isinstance(value, str) and len(value) <= _VALUE_LENGTH:
            return uuid.UUID(value)
        if self.kind is int and type(value) is int and 0 <= value < self.bound:
            return value
        if self.kind is str and isinstance(value, str) and len(value) <= self.bound:
            # PostgreSQL text cannot hold NUL, and no key we page on has control characters.
            if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
                raise ValueError("control character")
            return value
        raise ValueError("not a key value")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


@dataclass(frozen=True)
class Keyset:
    """A listing's order and its cursor. `name` tells listings apart: a cursor issued for one
    order (e.g. `recent`) is refused by another (e.g. `overdue`)."""

    name: str
    keys: tuple[SortKey, ...]
    plain_position: bool = False
    """The cursor is the one integer key in ASCII digits (the audit log's `seq`)."""

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a keyset needs at least one key")
        if self.plain_position and (len(self.keys) != 1 or self.keys[0].kind is not int):
            raise ValueError("a plain position cursor has exactly one integer key")

    # --- encoding -------------------------------------------------------------------------

    def encode(self, values: Sequence[Any]) -> str:
        """The cursor that continues after a row whose keys are `values`."""
        if len(values) != len(self.keys):
            raise ValueError("one value per key")
        if self.plain_position:
            return str(int(values[0]))
        raw = json.dumps(
            {"o": self.name, "k": [_plain(v) for v in values]},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")

    def decode(self, cursor: str) -> list[Any]:
        """The key values a cursor holds; `InvalidInput` (422, `cursor`) unless we issued it."""
        if self.plain_position:
            if _POSITION.fullmatch(cursor) is None:
                raise bad_cursor()
            return [int(cursor)]
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise bad_cursor()
        try:
            raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or data.get("o") != self.name:
                raise ValueError("a cursor of another listing")
            plain = data.get("k")
            if not isinstance(plain, list) or len(plain) != len(self.keys):
                raise ValueError("wrong number of keys")
            return [key.decode(value) for key, value in zip(self.keys, plain, strict=True)]
        except (ValueError, TypeError, RecursionError, binascii.Error, UnicodeError):
            raise bad_cursor() from None

    # --- querying -------------------------------------------------------------------------

    def order_by(self) -> list[ColumnElement[Any]]:
        return [k.column.desc() if k.descending else k.column.asc() for k in self.keys]

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """SQL condition: rows strictly after `values` in this order (the keyset condition)."""
        alternatives: list[ColumnElement[bool]] = []
        for i, key in enumerate(self.keys):
            equal = [self.keys[j].column == values[j] for j in range(i)]
            beyond = key.column < values[i] if key.descending else key.column > values[i]
            alternatives.append(and_(*equal, beyond))
        return or_(*alternatives)

    def select_page(self, statement: Select[*Ts], *, cursor: str | None, limit: int) -> Select[*Ts]:
        """`statement` in this order, after `cursor` (None or empty: from the start), limited
        to `limit + 1` rows (the extra row tells `split` that a next page exists)."""
        if cursor or (self.plain_position and cursor is not None):
            statement = statement.where(self.after(self.decode(cursor)))
        return statement.order_by(*self.order_by()).limit(limit + 1)

    def split(
        self, rows: Sequence[R], limit: int, values_of: Callable[[R], Sequence[Any]]
    ) -> Page[R]:
        """The page from the rows `select_page` fetched: at most `limit` of them, and the
        cursor after the last one when there were more. `values_of` gives a row's key values,
        in key order."""
        if len(rows) <= limit:
            return Page(items=list(rows), next_cursor=None)
        kept = list(rows[:limit])
        return Page(items=kept, next_cursor=self.encode(values_of(kept[-1])))
