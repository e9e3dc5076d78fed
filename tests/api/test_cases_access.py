"""Object-level access through HTTP, per role: owner, same-agency colleague, supervisors of the
same and another agency, admins, auditor, partner client. (Every route x every principal is
also in the role matrix, `tests/api/matrix/cases.py`; here: what each one sees in lists and
that refusals leak nothing.)"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_cases_helpers import World, body, create, search, world
from tests.factories import API

__all__ = ["world"]


@pytest.fixture
def cases(client: TestClient, world: World) -> dict[str, dict[str, Any]]:
    return {
        "owner": create(client, world.owner, body("Owned", "Child")),
        "colleague": create(client, world.colleague, body("Colleague", "Child")),
        "other": create(client, world.other_caseworker, body("Other", "Child")),
    }


def test_lists_show_only_visible_cases(
    client: TestClient, world: World, cases: dict[str, dict[str, Any]]
) -> None:
    ids = {key: case["id"] for key, case in cases.items()}
    assert set(search(client, world.owner)) == {ids["owner"]}
    assert set(search(client, world.colleague)) == {ids["colleague"]}
    assert set(search(client, world.supervisor)) == {ids["owner"], ids["colleague"]}
    assert set(search(client, world.other_supervisor)) == {ids["other"]}
    assert set(search(client, world.other_caseworker)) == {ids["other"]}
    assert set(search(client, world.supervisor, overdue="false")) == {
        ids["owner"],
        ids["colleague"],
    }


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("owner", 200),
        ("supervisor", 200),
        ("colleague", 404),
        ("other_supervisor", 404),
        ("other_caseworker", 404),
        ("system_admin", 403),
        ("agency_admin", 403),
        ("auditor", 403),
        ("partner", 403),
    ],
)
def test_reading_and_writing_one_case_per_role(
    client: TestClient, world: World, cases: dict[str, dict[str, Any]], who: str, expected: int
) -> None:
    actor = getattr(world, who)
    case = cases["owner"]
    url = f"{API}/cases/{case['id']}"
    read = client.get(url, headers=actor.headers)
    assert read.status_code == expected
    write = client.patch(
        url, json={"narrative": "changed"}, headers={**actor.headers, "If-Match": '"1"'}
    )
    assert write.status_code == expected
    notes = client.get(f"{url}/notes", headers=actor.headers)
    assert notes.status_code == expected
    if expected != 200:
        for response in (read, write, notes):
            assert response.headers["content-type"].startswith("application/problem+json")
            assert "Owned" not in response.text and "Sinjar" not in response.text


def test_hidden_and_missing_cases_look_the_same(
    client: TestClient, world: World, cases: dict[str, dict[str, Any]]
) -> None:
    hidden = client.get(f"{API}/cases/{cases['other']['id']}", headers=world.supervisor.headers)
    missing = client.get(
        f"{API}/cases/00000000-0000-4000-8000-000000000000", headers=world.supervisor.headers
    )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == missing.json()["detail"]


def test_staff_who_never_read_content_are_refused_lists_and_intake(
    client: TestClient, world: World
) -> None:
    for actor in (world.system_admin, world.agency_admin, world.auditor, world.partner):
        assert client.get(f"{API}/cases", headers=actor.headers).status_code == 403
        assert client.post(f"{API}/cases", json=body(), headers=actor.headers).status_code == 403
    assert (
        client.post(f"{API}/cases", json=body(), headers=world.supervisor.headers).status_code
        == 403
    )
    assert client.get(f"{API}/cases").status_code == 401


def test_malformed_ids_are_422(client: TestClient, world: World) -> None:
    assert client.get(f"{API}/cases/not-a-uuid", headers=world.owner.headers).status_code == 422
