"""Declarative base, naming convention and portable column types."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, LargeBinary, MetaData, Uuid
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


MIN_YEAR = 1900
MAX_YEAR = 2100
"""Datetimes taken from callers (bodies, queries, cursors) must fall in these years (UTC and
local alike): far from `datetime.min`/`max`, so converting any offset to UTC cannot overflow, and
well inside what both databases store."""


def in_supported_range(value: datetime) -> bool:
    """True when `value` (aware or naive) and its UTC equivalent lie in MIN_YEAR..MAX_YEAR."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        return False
    if value.tzinfo is None:
        return True
    try:
        return MIN_YEAR <= value.astimezone(UTC).year <= MAX_YEAR
    except (OverflowError, ValueError):
        return False


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite forgets the zone).

    A value whose conversion to UTC overflows (year 1 with a positive offset, year 9999 with a
    negative one) is a `ValueError`, like a naive one: callers validate with
    `in_supported_range` first, so this is the last line of defence, not the check."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        try:
            value = value.astimezone(UTC)
        except OverflowError as error:
            raise ValueError("datetime out of range for a UTC column") from error
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    # TypeDecorator's signature: the dialect is passed whether needed or not.
    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {
        datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        bytes: LargeBinary(),
    }


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()
