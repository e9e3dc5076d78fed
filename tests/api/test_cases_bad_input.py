"""Hostile cursors and `If-Match` headers on the case endpoints are 4xx, never a 500.

A case cursor holds a time and an id; a time near year 1 with a positive offset (or year 9999
with a negative one) overflowed when converted to UTC. `If-Match` takes one version of at most
9 ASCII digits; anything else is 412 naming `If-Match` (the contract's answer for PATCH).
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import API, World
from tests.referrals_support import case_body


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _json_cursor(value: Any) -> str:
    return _cursor(json.dumps(value).encode())


def _locs(response: Any) -> list[list[Any]]:
    return [problem["loc"] for problem in response.json().get("errors", [])]


_ID = str(uuid.uuid4())


def _bad_cursors(order: str) -> list[str]:
    return [
        _json_cursor({"o": order, "t": "0001-01-01T00:00:00+01:00", "i": _ID}),
        _json_cursor({"o": order, "t": "9999-12-31T23:59:59-01:00", "i": _ID}),
        _json_cursor({"o": order, "t": "1899-12-31T23:59:59+00:00", "i": _ID}),
        _json_cursor({"o": order, "t": "2020-01-01T00:00:00", "i": _ID}),
        _json_cursor({"o": order, "t": 5, "i": 1}),
        _json_cursor({"o": order, "t": ["2020-01-01T00:00:00+00:00"], "i": _ID}),
        _json_cursor({"o": order, "t": "2020-01-01T00:00:00+00:00", "i": {"x": 1}}),
        _json_cursor({"o": order, "t": "2020-01-01T00:00:00+00:00"}),
        _json_cursor({"o": "other", "t": "2020-01-01T00:00:00+00:00", "i": _ID}),
        _json_cursor([]),
        _json_cursor("x"),
        _cursor(b"\xff\xfe"),
        _cursor(b"[" * 300),
        "\u2460",
    ]


@pytest.mark.parametrize("index", range(len(_bad_cursors("created"))))
def test_a_forged_case_cursor_is_422_naming_it(
    client: TestClient, world: World, index: int
) -> None:
    for url, params, order in (
        (f"{API}/cases", {}, "created"),
        (f"{API}/cases", {"overdue": "true"}, "due"),
        (f"{API}/cases/{world.case_id}/notes", {}, "notes"),
    ):
        cursor = _bad_cursors(order)[index]
        response = client.get(
            url, params={**params, "cursor": cursor}, headers=world.h["caseworker"]
        )
        assert response.status_code == 422, (url, response.text)
        assert _locs(response) == [["query", "cursor"]]


def test_real_case_cursors_still_page(client: TestClient, world: World) -> None:
    for _ in range(2):
        made = client.post(f"{API}/cases", json=case_body(), headers=world.h["caseworker"])
        assert made.status_code == 201, made.text
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/cases", params=params, headers=world.h["caseworker"])
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3


BAD_IF_MATCH = [
    '"' + "9" * 10 + '"',
    '"' + "9" * 30 + '"',
    "9" * 5000,
    '"\u00b2"',
    '"1", "2"',
    'W/"-1"',
    "*x",
]


@pytest.mark.parametrize("etag", BAD_IF_MATCH)
def test_a_malformed_if_match_on_a_case_is_412_naming_it(
    client: TestClient, world: World, etag: str
) -> None:
    url = f"{API}/cases/{world.case_id}"
    headers = {"If-Match": etag.encode("utf-8")}
    for method, path, body, who in (
        ("PATCH", url, {"narrative": "changed"}, "caseworker"),
        ("POST", f"{url}/stage", {"to": "assessment"}, "caseworker"),
        ("POST", f"{url}/assign", {"user_id": str(world.colleague.id)}, "supervisor"),
    ):
        response = client.request(method, path, json=body, headers={**world.h[who], **headers})
        assert response.status_code == 412, (path, response.text)
        assert "If-Match" in response.json()["detail"]
    read = client.get(url, headers=world.h["caseworker"])
    assert read.json()["version"] == 1
    assert read.json()["stage"] == "registration"


def test_a_stale_if_match_on_a_case_stays_412(client: TestClient, world: World) -> None:
    url = f"{API}/cases/{world.case_id}"
    ok = client.patch(
        url, json={"narrative": "one"}, headers={**world.h["caseworker"], "If-Match": '"1"'}
    )
    assert ok.status_code == 200, ok.text
    stale = client.patch(
        url, json={"narrative": "two"}, headers={**world.h["caseworker"], "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert "read it again" in stale.json()["detail"]
