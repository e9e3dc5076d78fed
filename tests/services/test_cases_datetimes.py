# ruff: noqa: DTZ001, DTZ901  (naive and extreme datetimes are what these tests feed in)
"""`UTCDateTime` and the supported range of caller-given times.

`0001-01-01T00:00:00+01:00` is a valid aware datetime whose UTC equivalent is before year 1:
converting it raised OverflowError deep inside the database layer. Callers now check
`in_supported_range` (years 1900..2100, local and UTC) and the column type turns any overflow
into a plain ValueError.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from models.base import MAX_YEAR, MIN_YEAR, UTCDateTime, in_supported_range
from models.cases import Case

PLUS_ONE = timezone(timedelta(hours=1))
MINUS_ONE = timezone(timedelta(hours=-1))


@pytest.mark.parametrize(
    "value",
    [
        datetime(1, 1, 1, tzinfo=PLUS_ONE),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=MINUS_ONE),
    ],
)
def test_utc_conversion_overflow_is_a_value_error(value: datetime, db: Session) -> None:
    column_type = UTCDateTime()
    with pytest.raises(ValueError, match="out of range"):
        column_type.process_bind_param(value, db.get_bind().dialect)
    # And through a real query: a clean error from the statement, not an OverflowError.
    with pytest.raises(StatementError) as caught:
        db.execute(select(Case.id).where(Case.created_at < value)).all()
    assert isinstance(caught.value.orig, ValueError)
    assert not isinstance(caught.value.orig, OverflowError)


def test_naive_datetimes_are_still_refused(db: Session) -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2020, 1, 1), db.get_bind().dialect)


@pytest.mark.parametrize(
    ("value", "supported"),
    [
        (datetime(MIN_YEAR, 1, 1, tzinfo=UTC), True),
        (datetime(MAX_YEAR, 12, 31, 23, 59, 59, tzinfo=UTC), True),
        (datetime(2024, 5, 1, 12, tzinfo=PLUS_ONE), True),
        (datetime(2024, 5, 1, 12), True),
        (datetime(MIN_YEAR - 1, 12, 31, 23, 59, tzinfo=UTC), False),
        (datetime(MIN_YEAR, 1, 1, 0, 30, tzinfo=PLUS_ONE), False),  # 1899 in UTC
        (datetime(MAX_YEAR, 12, 31, 23, 30, tzinfo=MINUS_ONE), False),  # 2101 in UTC
        (datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC), False),
        (datetime(1, 1, 1, tzinfo=PLUS_ONE), False),
        (datetime(9999, 12, 31, 23, 59, 59, tzinfo=MINUS_ONE), False),
        (datetime.min, False),
        (datetime.max, False),
    ],
)
def test_supported_range(value: datetime, supported: bool) -> None:
    assert in_supported_range(value) is supported
