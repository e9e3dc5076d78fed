"""Object-level access to a case's casework records through HTTP, per role: the owner and the
agency's supervisor work on them; the same-agency colleague and the other agency's staff get 404
(exactly as for a case that does not exist); admins, auditors and partner clients 403. Every
refusal is audited and leaks nothing of the records."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from tests.api.test_cases_helpers import World, body, create, world
from tests.casework_support import (
    approved_plan_http,
    assessment_body,
    follow_up_body,
    plan_body,
    record_assessment_http,
)
from tests.factories import API

__all__ = ["world"]

SECRET = "Observationmarker Quillfeather"


@pytest.fixture
def case(client: TestClient, world: World) -> dict[str, Any]:
    created = create(client, world.owner, body("Owned", "Child"))
    record_assessment_http(
        client,
        world.owner.headers,
        created["id"],
        domains=[
            {
                "domain": "safety",
                "severity": "low",
                "needs": ["psychosocial_support"],
                "observations": SECRET,
            }
        ],
    )
    approved_plan_http(client, world.owner.headers, world.supervisor.headers, created["id"])
    return created


def _calls(case_id: str) -> list[tuple[str, str, Any]]:
    url = f"{API}/cases/{case_id}"
    service = {"service_type": "medical", "provided_on": "2026-01-05", "provided_by": "own_agency"}
    return [
        ("GET", f"{url}/assessments", None),
        ("POST", f"{url}/assessments", assessment_body()),
        ("GET", f"{url}/plan", None),
        ("GET", f"{url}/plan/versions", None),
        ("GET", f"{url}/plan/versions/1", None),
        ("GET", f"{url}/services", None),
        ("POST", f"{url}/services", service),
        ("GET", f"{url}/follow-ups", None),
        ("POST", f"{url}/follow-ups", follow_up_body()),
        ("GET", f"{url}/timeline", None),
    ]


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
def test_casework_records_per_role(
    client: TestClient,
    world: World,
    db: Session,
    case: dict[str, Any],
    who: str,
    expected: int,
) -> None:
    actor = getattr(world, who)
    for method, url, json in _calls(case["id"]):
        response = client.request(method, url, json=json, headers=actor.headers)
        wanted = {200: (200, 201)}.get(expected, (expected,))
        assert response.status_code in wanted, (method, url, response.text)
        if expected != 200:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert SECRET not in response.text and "Owned" not in response.text
    plan = client.get(f"{API}/cases/{case['id']}/plan", headers=world.owner.headers)
    changed = client.put(
        f"{API}/cases/{case['id']}/plan",
        json=plan_body(),
        headers={**actor.headers, "If-Match": plan.headers["etag"]},
    )
    assert changed.status_code == expected, changed.text
    if expected != 200:
        db.expire_all()
        refusals = db.scalars(
            select(AuditEvent).where(
                AuditEvent.case_id == uuid.UUID(case["id"]), AuditEvent.outcome == "denied"
            )
        ).all()
        assert len(refusals) >= len(_calls(case["id"])) + 1
        assert all(SECRET not in str(event.detail) for event in refusals)


def test_only_a_supervisor_of_the_agency_approves(
    client: TestClient, world: World, case: dict[str, Any]
) -> None:
    url = f"{API}/cases/{case['id']}/plan"
    plan = client.get(url, headers=world.owner.headers)
    redraft = plan_body(review_due_on=plan_body()["review_due_on"])
    redraft["goals"][0]["description"] = "Changed."
    headers = {**world.owner.headers, "If-Match": plan.headers["etag"]}
    assert client.put(url, json=redraft, headers=headers).json()["status"] == "draft"
    for actor, status in (
        (world.owner, 403),
        (world.colleague, 403),
        (world.other_supervisor, 404),
        (world.auditor, 403),
        (world.partner, 403),
    ):
        assert client.post(f"{url}/approve", headers=actor.headers).status_code == status
    assert client.post(f"{url}/approve", headers=world.supervisor.headers).status_code == 200
    assert client.post(f"{url}/approve", headers=world.supervisor.headers).status_code == 409


def test_hidden_and_missing_cases_look_the_same_for_every_record(
    client: TestClient, world: World, case: dict[str, Any]
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for (method, hidden_url, json), (_, missing_url, _) in zip(
        _calls(case["id"]), _calls(missing), strict=True
    ):
        hidden = client.request(
            method, hidden_url, json=json, headers=world.other_supervisor.headers
        )
        absent = client.request(
            method, missing_url, json=json, headers=world.other_supervisor.headers
        )
        assert hidden.status_code == absent.status_code == 404
        assert hidden.json()["detail"] == absent.json()["detail"]
