"""Shared helpers for the case API tests (no tests here): the `world` fixture (the one cast of
`tests.factories`, without a case), intake bodies, and shortcuts for the calls every test
makes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.config import Settings
from tests.factories import API, Actor, World, build_world, case_body

__all__ = ["Actor", "World", "body", "create", "etag", "patch", "search", "world"]


def body(
    given: str = "Amal", family: str = "Hassan", dob: str | None = "2014-03-09", **top: Any
) -> dict[str, Any]:
    child: dict[str, Any] = {"given_name": given, "family_name": family, "sex": "female"}
    if dob is None:
        child["estimated_age"] = 10
    else:
        child["date_of_birth"] = dob
    return case_body(child=child, **top)


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    """The HTTP tests' cast (`tests.factories.World`), without a case: the case tests make
    their own."""
    return build_world(db, settings)


def create(
    client: TestClient,
    actor: Actor,
    data: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    expect: int = 201,
) -> dict[str, Any]:
    headers = dict(actor.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = client.post(
        f"{API}/cases", json=data if data is not None else body(), headers=headers
    )
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


def etag(version: int) -> str:
    return f'"{version}"'


def patch(client: TestClient, actor: Actor, case: dict[str, Any], changes: dict[str, Any]) -> Any:
    return client.patch(
        f"{API}/cases/{case['id']}",
        json=changes,
        headers={**actor.headers, "If-Match": etag(case["version"])},
    )


def search(client: TestClient, actor: Actor, **params: Any) -> list[str]:
    response = client.get(f"{API}/cases", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]
