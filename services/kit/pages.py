"""One page type and one page-size policy for every list endpoint.

Policy: a `limit` outside 1..MAX_LIMIT is refused with 422 naming `limit`, never clamped. The
HTTP layer already refuses it (`Query(ge=1, le=MAX_LIMIT)`), and the services answer the same
for any other caller (the CLI, jobs, tests): a clamped limit silently returns fewer rows than
asked for, which a caller cannot tell from the end of the list without reading `next_cursor`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from services.errors import InvalidInput

DEFAULT_LIMIT = 50
"""Rows per page when the caller names no `limit`."""
MAX_LIMIT = 200
"""The largest page a caller may ask for."""
LIMIT_LOC: tuple[str | int, ...] = ("query", "limit")

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, and the cursor of the next page (None on the last)."""

    items: list[T]
    next_cursor: str | None


def check_limit(limit: int) -> int:
    """`limit` itself when it is 1..MAX_LIMIT; otherwise `InvalidInput` naming `limit`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.field(LIMIT_LOC, f"Must be between 1 and {MAX_LIMIT}.")
    return limit
