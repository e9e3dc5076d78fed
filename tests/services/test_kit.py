"""The shared kit: keyset cursors, the page-size policy, If-Match and the stale answer."""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import Integer, String, column, select
from sqlalchemy.sql.expression import ColumnClause

from services.errors import (
    Conflict,
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
)
from services.kit.cursor import CURSOR_LOC, Keyset, SortKey
from services.kit.pages import MAX_LIMIT, check_limit
from services.kit.versions import IF_MATCH_LOC, Versioned, etag

AT: ColumnClause[Any] = column("at")
RANK = column("rank", Integer)
NAME = column("name", String)
ID: ColumnClause[Any] = column("id")
MIXED = Keyset(
    "mixed",
    (
        SortKey(RANK, int, bound=3),
        SortKey(AT, datetime, descending=True),
        SortKey(NAME, str, bound=10),
        SortKey(ID, uuid.UUID),
    ),
)
SEQ = Keyset("seq", (SortKey(column("seq"), int, bound=10**18),), plain_position=True)
WHEN = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _forged(payload: Any) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _refused(keyset: Keyset, cursor: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        keyset.decode(cursor)
    assert [p.loc for p in caught.value.problems] == [CURSOR_LOC]


def test_cursor_round_trip_keeps_every_kind_of_key() -> None:
    values = [2, WHEN, "عمّان", uuid.uuid4()]
    assert MIXED.decode(MIXED.encode(values)) == values


def test_a_cursor_of_another_listing_is_refused() -> None:
    other = Keyset("other", MIXED.keys)
    _refused(MIXED, other.encode([0, WHEN, "a", uuid.uuid4()]))


@pytest.mark.parametrize(
    "keys",
    [
        [True, WHEN.isoformat(), "a", str(uuid.uuid4())],  # a bool is not a rank
        [3, WHEN.isoformat(), "a", str(uuid.uuid4())],  # out of the rank's range
        [10**30, WHEN.isoformat(), "a", str(uuid.uuid4())],
        [0, "2026-05-01T12:00:00", "a", str(uuid.uuid4())],  # naive
        [0, "0001-01-01T00:00:00+01:00", "a", str(uuid.uuid4())],  # overflows to UTC
        [0, WHEN.isoformat(), "a\x00", str(uuid.uuid4())],  # NUL
        [0, WHEN.isoformat(), "x" * 11, str(uuid.uuid4())],  # too long
        [0, WHEN.isoformat(), "a", "not-a-uuid"],
        [0, WHEN.isoformat(), "a"],  # a key short
    ],
)
def test_a_forged_cursor_is_refused(keys: list[Any]) -> None:
    _refused(MIXED, _forged({"o": "mixed", "k": keys}))


@pytest.mark.parametrize("garbage", ["!!!", "e30", "bm90IGpzb24", "x" * 2000, "", "="])
def test_garbage_is_refused(garbage: str) -> None:
    _refused(MIXED, garbage)


@hsettings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_decoding_never_crashes(garbage: str) -> None:
    for keyset in (MIXED, SEQ):
        with contextlib.suppress(InvalidInput):
            keyset.decode(garbage)


def test_an_empty_opaque_cursor_is_the_first_page() -> None:
    statement = MIXED.select_page(select(ID), cursor="", limit=5)
    assert statement.whereclause is None
    assert statement._limit_clause is not None


def test_the_plain_position_cursor_is_ascii_digits() -> None:
    assert SEQ.encode([42]) == "42"
    assert SEQ.decode("42") == [42]
    for bad in ("", "\u2460", "\u00b2", "9" * 19, "-1", " 1", "1e3"):
        _refused(SEQ, bad)
    with pytest.raises(InvalidInput):
        SEQ.select_page(select(ID), cursor="", limit=5)


def test_split_keeps_the_page_and_encodes_after_its_last_row() -> None:
    keyset = Keyset("n", (SortKey(ID, int, bound=100),))
    rows = [1, 2, 3]
    page = keyset.split(rows, 2, lambda r: (r,))
    assert page.items == [1, 2]
    assert page.next_cursor is not None and keyset.decode(page.next_cursor) == [2]
    assert keyset.split(rows, 3, lambda r: (r,)).next_cursor is None


def test_the_limit_is_refused_outside_its_range_never_clamped() -> None:
    assert check_limit(1) == 1 and check_limit(MAX_LIMIT) == MAX_LIMIT
    for bad in (0, -1, MAX_LIMIT + 1):
        with pytest.raises(InvalidInput):
            check_limit(bad)


@pytest.mark.parametrize(
    ("header", "version"), [('"3"', 3), ('W/"12"', 12), ("7", 7), (' "1" ', 1)]
)
def test_if_match_grammar(header: str, version: int) -> None:
    assert Versioned("thing").parse_if_match(header, required=True) == version


def test_each_record_kind_chooses_its_answers() -> None:
    strict = Versioned("case", stale=PreconditionFailed, malformed=PreconditionFailed)
    lenient = Versioned("referral", stale=Conflict, malformed=InvalidInput)
    with pytest.raises(PreconditionRequired):
        strict.parse_if_match(None, required=True)
    assert lenient.parse_if_match(" ", required=False) is None
    for bad in ('"abc"', "*", '"1", "2"', "-1", '"' + "9" * 10 + '"', "\u0663"):
        with pytest.raises(PreconditionFailed):
            strict.parse_if_match(bad, required=True)
        with pytest.raises(InvalidInput) as caught:
            lenient.parse_if_match(bad, required=False)
        assert [p.loc for p in caught.value.problems] == [IF_MATCH_LOC]


def test_one_stale_answer_names_both_versions() -> None:
    with pytest.raises(Conflict) as caught:
        Versioned("referral", stale=Conflict).check(current=4, expected=3)
    assert caught.value.detail == (
        "The referral changed since version 3 (it is now version 4); read it again."
    )
    Versioned("case").check(current=4, expected=None)
    Versioned("case").check(current=4, expected=4)
    assert etag(7) == '"7"'
