"""Hostile input to the referral endpoints is a 4xx naming the field, never a 500.

Each of these was a 500 on SQLite, PostgreSQL or both: an `If-Match` too long for the database's
integer, a consent time whose conversion to UTC overflows, cursors holding such times or huge
integers. Nothing is half-written either.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.referrals import Referral
from tests.factories import API, World
from tests.referrals_support import propose, referral_body


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _json_cursor(value: Any) -> str:
    return _cursor(json.dumps(value).encode())


def _locs(response: Any) -> list[list[Any]]:
    return [problem["loc"] for problem in response.json().get("errors", [])]


BAD_IF_MATCH = [
    '"' + "9" * 30 + '"',
    "9" * 5000,
    '"' + "9" * 10 + '"',
    '"\u00b2"',  # superscript two: str.isdigit() says yes, int() says no
    '"\u0663"',  # Arabic-Indic three: not an ASCII digit
    '"1", "2"',
    'W/"-1"',
    '""',
]


@pytest.mark.parametrize("etag", BAD_IF_MATCH)
def test_a_malformed_if_match_on_an_action_is_422_naming_it(
    client: TestClient, world: World, etag: str
) -> None:
    rid = propose(client, world)["id"]
    response = client.post(
        f"{API}/referrals/{rid}/approve",
        headers={**world.h["supervisor"], "If-Match": etag.encode("utf-8")},
    )
    assert response.status_code == 422, response.text
    assert _locs(response) == [["header", "If-Match"]]
    read = client.get(f"{API}/referrals/{rid}", headers=world.h["supervisor"]).json()
    assert (read["status"], read["version"]) == ("pending_approval", 1)


@pytest.mark.parametrize("etag", ['"1"', "1", 'W/"1"', ' "1" ', '"000000001"'])
def test_a_well_formed_if_match_still_works(client: TestClient, world: World, etag: str) -> None:
    rid = propose(client, world)["id"]
    response = client.post(
        f"{API}/referrals/{rid}/approve", headers={**world.h["supervisor"], "If-Match": etag}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "obtained_at",
    [
        "0001-01-01T00:00:00+01:00",  # converting to UTC overflows below year 1
        "9999-12-31T23:59:59-01:00",  # ... and above year 9999
        "1899-12-31T23:59:59+00:00",
        "1900-01-01T00:30:00+01:00",  # 1899 in UTC
    ],
)
def test_a_consent_time_out_of_range_is_422_and_nothing_is_written(
    client: TestClient, world: World, db: Session, obtained_at: str
) -> None:
    body = referral_body(world.partner_agency.id)
    body["consent"]["obtained_at"] = obtained_at
    before = db.scalar(select(func.count()).select_from(Referral))
    response = client.post(
        f"{API}/cases/{world.case_id}/referrals", json=body, headers=world.h["caseworker"]
    )
    assert response.status_code == 422, response.text
    assert _locs(response) == [["body", "consent", "obtained_at"]]
    assert db.scalar(select(func.count()).select_from(Referral)) == before
    listed = client.get(f"{API}/referrals", headers=world.h["supervisor"])
    assert listed.status_code == 200


def test_a_consent_time_in_range_is_accepted(client: TestClient, world: World) -> None:
    body = referral_body(world.partner_agency.id)
    body["consent"]["obtained_at"] = "1900-01-01T00:30:00-01:00"
    response = client.post(
        f"{API}/cases/{world.case_id}/referrals", json=body, headers=world.h["caseworker"]
    )
    assert response.status_code == 201, response.text


_ID = str(uuid.uuid4())
BAD_CURSORS: list[tuple[dict[str, str], str]] = [
    # The review queue's first key is the urgency rank (0..2).
    (
        {"status": "pending_approval"},
        _json_cursor({"o": "review", "k": [10**30, "2020-01-01T00:00:00+00:00", _ID]}),
    ),
    (
        {"status": "pending_approval"},
        _json_cursor({"o": "review", "k": [-(10**30), "2020-01-01T00:00:00+00:00", _ID]}),
    ),
    (
        {"status": "pending_approval"},
        _json_cursor({"o": "review", "k": [3, "2020-01-01T00:00:00+00:00", _ID]}),
    ),
    (
        {"status": "pending_approval"},
        _json_cursor({"o": "review", "k": [True, "2020-01-01T00:00:00+00:00", _ID]}),
    ),
    (
        {"status": "pending_approval"},
        _json_cursor({"o": "review", "k": [1.5, "2020-01-01T00:00:00+00:00", _ID]}),
    ),
    ({}, _json_cursor({"o": "recent", "k": ["0001-01-01T00:00:00+01:00", _ID]})),
    ({}, _json_cursor({"o": "recent", "k": ["9999-12-31T23:59:59-01:00", _ID]})),
    ({}, _json_cursor({"o": "recent", "k": ["2020-01-01T00:00:00", _ID]})),
    ({}, _json_cursor({"o": "recent", "k": ["2020-01-01T00:00:00+00:00", "not-a-uuid"]})),
    ({}, _json_cursor({"o": "recent", "k": {}})),
    ({}, _json_cursor({"o": "recent", "k": ["x", "y"]})),
    ({}, _json_cursor({"o": "review", "k": ["2020-01-01T00:00:00+00:00", _ID]})),
    ({}, _json_cursor([])),
    ({}, _json_cursor("x")),
    ({}, _cursor(b"\xff\xfe")),
    ({}, _cursor(b"[" * 300)),
    ({}, "\u2460"),
    ({}, "!!!"),
    ({"overdue": "true"}, _json_cursor({"o": "overdue", "k": ["0001-01-01T00:00:00+14:00", _ID]})),
]


@pytest.mark.parametrize(("params", "cursor"), BAD_CURSORS)
def test_a_forged_referral_cursor_is_422_naming_it(
    client: TestClient, world: World, params: dict[str, str], cursor: str
) -> None:
    for url, who in (
        (f"{API}/referrals", "supervisor"),
        (f"{API}/cases/{world.case_id}/referrals", "caseworker"),
        (f"{API}/referrals", "partner"),
    ):
        response = client.get(url, params={**params, "cursor": cursor}, headers=world.h[who])
        assert response.status_code == 422, (url, who, response.text)
        assert _locs(response) == [["query", "cursor"]]


def test_real_cursors_still_page_through_every_order(client: TestClient, world: World) -> None:
    made = {propose(client, world, urgency=u)["id"] for u in ("high", "low", "medium", "low")}
    for params in ({}, {"status": "pending_approval"}):
        seen: list[str] = []
        cursor: str | None = None
        while True:
            query = {**params, "limit": "1", **({"cursor": cursor} if cursor else {})}
            page = client.get(f"{API}/referrals", params=query, headers=world.h["supervisor"])
            assert page.status_code == 200, page.text
            seen += [item["id"] for item in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(made)
