"""Bad input to casework: a problem+json 422 naming every bad field, never echoing a value, and
nothing written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.api.test_cases_helpers import World, create, world
from tests.casework_support import (
    assessment_body,
    follow_up_body,
    plan_body,
    record_assessment_http,
    today,
)
from tests.factories import API

__all__ = ["world"]

SECRET = "Secretmarker Umbrage"
TOMORROW = (today() + timedelta(days=1)).isoformat()


def _locs(response: Any) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert SECRET not in response.text
    return [error["loc"] for error in response.json()["errors"]]


def test_assessments(client: TestClient, world: World) -> None:
    case = create(client, world.owner)
    url = f"{API}/cases/{case['id']}/assessments"
    headers = world.owner.headers
    bad_domains = [
        {"domain": "psychosocial", "severity": "high", "needs": ["not_a_need", SECRET]},
        {"domain": "psychosocial", "severity": "low", "needs": []},
    ]
    locs = _locs(
        client.post(
            url, json=assessment_body(completed_on=TOMORROW, domains=bad_domains), headers=headers
        )
    )
    assert ["body", "completed_on"] in locs
    assert ["body", "domains", 0, "needs", 0] in locs
    assert ["body", "domains", 0, "needs", 1] in locs
    assert ["body", "domains", 1, "domain"] in locs
    locs = _locs(
        client.post(url, json={"kind": "first", "domains": [], "extra": SECRET}, headers=headers)
    )
    assert ["body", "kind"] in locs and ["body", "completed_on"] in locs
    assert ["body", "domains"] in locs
    assert client.get(url, headers=headers).json()["items"] == []


def test_plans(client: TestClient, world: World) -> None:
    case = create(client, world.owner)
    record_assessment_http(client, world.owner.headers, case["id"])
    url = f"{API}/cases/{case['id']}/plan"
    body = plan_body(review_due_on=(today() + timedelta(days=400)).isoformat())
    body["goals"][0]["id"] = "00000000-0000-4000-8000-000000000000"
    body["goals"].append({"need": "legal_aid", "description": "Papers.", "actions": []})
    locs = _locs(client.put(url, json=body, headers=world.owner.headers))
    assert ["body", "goals", 0, "id"] in locs
    assert ["body", "goals", 1, "need"] in locs
    assert ["body", "review_due_on"] in locs
    bad_action = plan_body()
    bad_action["goals"][0]["actions"][0].update(responsible="nobody", status="maybe")
    locs = _locs(client.put(url, json=bad_action, headers=world.owner.headers))
    assert ["body", "goals", 0, "actions", 0, "responsible"] in locs
    assert ["body", "goals", 0, "actions", 0, "status"] in locs
    assert client.get(url, headers=world.owner.headers).status_code == 404
    stale = client.put(url, json=plan_body(), headers={**world.owner.headers, "If-Match": '"3"'})
    assert stale.status_code == 412


def test_services_and_follow_ups(client: TestClient, world: World) -> None:
    case = create(client, world.owner)
    other = create(client, world.colleague)
    base = f"{API}/cases/{case['id']}"
    service = {
        "service_type": "medical",
        "provided_on": TOMORROW,
        "provided_by": "own_agency",
        "referral_id": other["id"],
    }
    locs = _locs(client.post(f"{base}/services", json=service, headers=world.owner.headers))
    assert ["body", "provided_on"] in locs and ["body", "referral_id"] in locs
    follow_up = follow_up_body(happened_on=TOMORROW, next_due_on=today().isoformat())
    locs = _locs(client.post(f"{base}/follow-ups", json=follow_up, headers=world.owner.headers))
    assert ["body", "happened_on"] in locs and ["body", "next_due_on"] in locs
    for path in ("services", "follow-ups"):
        assert client.get(f"{base}/{path}", headers=world.owner.headers).json()["items"] == []


def test_close_reasons(client: TestClient, world: World) -> None:
    case = create(client, world.owner)
    url = f"{API}/cases/{case['id']}/close"
    headers = world.supervisor.headers
    assert ["body", "reason"] in _locs(client.post(url, json={"reason": SECRET}, headers=headers))
    assert ["body", "note"] in _locs(client.post(url, json={"reason": "other"}, headers=headers))
    assert ["body"] in _locs(client.post(url, headers=headers))
