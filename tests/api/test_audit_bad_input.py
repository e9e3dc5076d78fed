"""Hostile queries to the audit endpoints are 422 naming the parameter, never a 500.

`cursor` is the last seq served: `str.isdigit()` also takes "①" (int() refuses it) and 19 nines
overflow the database's 64-bit integer. `since` near year 1 with a positive offset overflowed
when converted to UTC.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import API, World


def _locs(response: Any) -> list[list[Any]]:
    return [problem["loc"] for problem in response.json().get("errors", [])]


BAD_CURSORS = [
    "\u2460",  # circled one
    "\u00b2",  # superscript two
    "\u0663",  # Arabic-Indic three
    "9" * 19,
    "9" * 32,
    "-1",
    "+1",
    " 1",
    "1e3",
    "0x10",
    "1_000",
    "",
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_bad_audit_cursor_is_422_naming_it(client: TestClient, world: World, cursor: str) -> None:
    for url, who in (
        (f"{API}/audit/events", "auditor"),
        (f"{API}/cases/{world.case_id}/access-log", "supervisor"),
    ):
        response = client.get(url, params={"cursor": cursor}, headers=world.h[who])
        assert response.status_code == 422, (url, response.text)
        assert _locs(response) == [["query", "cursor"]]


def test_the_largest_cursor_is_an_empty_page(client: TestClient, world: World) -> None:
    response = client.get(
        f"{API}/audit/events", params={"cursor": "9" * 18}, headers=world.h["auditor"]
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    "since",
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00",
        "1899-12-31T23:59:59Z",
        "1900-01-01T00:30:00+01:00",
        "2101-01-01T00:00:00Z",
    ],
)
def test_a_since_out_of_range_is_422_naming_it(
    client: TestClient, world: World, since: str
) -> None:
    response = client.get(
        f"{API}/audit/events", params={"since": since}, headers=world.h["auditor"]
    )
    assert response.status_code == 422, response.text
    assert _locs(response) == [["query", "since"]]


@pytest.mark.parametrize(
    "since", ["1900-01-01T00:00:00Z", "2020-01-01T00:00:00", "2100-06-01T00:00:00+03:00"]
)
def test_a_since_in_range_still_filters(client: TestClient, world: World, since: str) -> None:
    response = client.get(
        f"{API}/audit/events", params={"since": since}, headers=world.h["auditor"]
    )
    assert response.status_code == 200, response.text
