"""The query parameters every list endpoint takes: `?limit=` and `?cursor=` (`services.kit`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from services.kit.cursor import MAX_CURSOR_LENGTH
from services.kit.pages import DEFAULT_LIMIT, MAX_LIMIT

LimitQuery = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_LIMIT,
        description=f"Page size (default {DEFAULT_LIMIT}, max {MAX_LIMIT}); "
        "outside that range is 422.",
    ),
]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_LENGTH,
        description="`next_cursor` of the previous page (opaque; empty or absent: the first page).",
    ),
]
