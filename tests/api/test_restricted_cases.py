"""Restricted cases through HTTP, as each role: the owner and the users on the access list read
the case and everything under it; another supervisor of the agency sees it in lists by its plain
columns only and meets 404 everywhere else; name search, duplicate warnings and tracing matches
do not reveal it; partners are unaffected; every change is audited."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from services.config import Settings
from services.policy import Role
from services.runtime import Runtime
from tests.api.test_cases_helpers import Actor, World, body, create, patch, world
from tests.casework_support import walk_services
from tests.factories import API, make_user, principal_of, user_headers

__all__ = ["world"]

CHILD_KEYS = ("child", "location", "caregivers", "narrative", "protection_concerns")
SUB_RESOURCES = (
    "",
    "/notes",
    "/referrals",
    "/assessments",
    "/plan",
    "/plan/versions",
    "/plan/versions/1",
    "/services",
    "/follow-ups",
    "/timeline",
    "/matches",
    "/access-list",
)
"""Every read under a case (the access log is a supervisor's, checked apart)."""


@pytest.fixture
def second_supervisor(db: Session, settings: Settings, world: World) -> Actor:
    user = make_user(db, world.agency, Role.SUPERVISOR)
    return Actor(user, user_headers(db, user, settings))


def _restricted_case(
    client: TestClient, db: Session, runtime: Runtime, settings: Settings, world: World
) -> dict[str, Any]:
    """A case of `world.owner` with a note, an assessment and an approved plan, then restricted
    by its owner."""
    case = create(client, world.owner, body("Restricted", "Child"))
    assert world.owner.user is not None and world.supervisor.user is not None
    walk_services(
        db,
        runtime.keyring,
        settings,
        principal_of(world.owner.user),
        principal_of(world.supervisor.user),
        uuid.UUID(case["id"]),
        "implementation",
    )
    db.flush()
    note = client.post(
        f"{API}/cases/{case['id']}/notes", json={"text": "A note."}, headers=world.owner.headers
    )
    assert note.status_code == 201
    current = client.get(f"{API}/cases/{case['id']}", headers=world.owner.headers).json()
    changed = patch(
        client,
        world.owner,
        current,
        {"restricted": True, "restriction_reason": "Association with an armed group."},
    )
    assert changed.status_code == 200, changed.text
    result: dict[str, Any] = changed.json()
    return result


def _statuses(client: TestClient, actor: Actor, case_id: str) -> dict[str, int]:
    return {
        path: client.get(f"{API}/cases/{case_id}{path}", headers=actor.headers).status_code
        for path in SUB_RESOURCES
    }


def _grant(client: TestClient, by: Actor, case_id: str, user: Actor, **extra: Any) -> Any:
    return client.post(
        f"{API}/cases/{case_id}/access-list",
        json={"user_id": str(user.id), **extra},
        headers=by.headers,
    )


def _events(db: Session, action: str, case_id: str) -> list[AuditEvent]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.case_id == uuid.UUID(case_id))
            .order_by(AuditEvent.seq)
        )
    )


def _detail(event: AuditEvent) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(event.detail or "{}")
    return loaded


def test_owner_and_listed_read_everything_unlisted_supervisor_nothing(
    client: TestClient,
    db: Session,
    runtime: Runtime,
    settings: Settings,
    world: World,
    second_supervisor: Actor,
) -> None:
    case = _restricted_case(client, db, runtime, settings, world)
    assert case["restricted"] is True
    assert case["restriction_reason"] == "Association with an armed group."
    owner = _statuses(client, world.owner, case["id"])
    assert set(owner.values()) == {200}, owner

    unlisted = _statuses(client, world.supervisor, case["id"])
    assert set(unlisted.values()) == {404}, unlisted
    log = client.get(f"{API}/cases/{case['id']}/access-log", headers=world.supervisor.headers)
    assert log.status_code == 404
    # Writes too: the case is simply not there for it.
    assert patch(client, world.supervisor, case, {"narrative": "x"}).status_code == 404
    approve = client.post(
        f"{API}/cases/{case['id']}/plan/approve", headers=world.supervisor.headers
    )
    assert approve.status_code == 404

    granted = _grant(client, world.owner, case["id"], second_supervisor, reason="Covers the area.")
    assert granted.status_code == 201, granted.text
    assert granted.json()["reason"] == "Covers the area."
    listed = _statuses(client, second_supervisor, case["id"])
    assert set(listed.values()) == {200}, listed
    log = client.get(f"{API}/cases/{case['id']}/access-log", headers=second_supervisor.headers)
    assert log.status_code == 200
    # Still nothing for the supervisor who is not listed.
    assert set(_statuses(client, world.supervisor, case["id"]).values()) == {404}


def test_lists_show_a_summary_without_child_fields_and_search_finds_nothing(
    client: TestClient, db: Session, runtime: Runtime, settings: Settings, world: World
) -> None:
    case = _restricted_case(client, db, runtime, settings, world)
    open_case = create(client, world.colleague, body("Restricted", "Child"))
    listing = client.get(f"{API}/cases", headers=world.supervisor.headers)
    assert listing.status_code == 200
    items = {item["id"]: item for item in listing.json()["items"]}
    summary = items[case["id"]]
    assert summary["restricted"] is True and summary["content_withheld"] is True
    assert summary["case_number"] == case["case_number"]
    assert summary["stage"] == "implementation" and summary["risk_level"] == case["risk_level"]
    for key in (*CHILD_KEYS, "restriction_reason"):
        assert key not in summary
    assert "Restricted" not in json.dumps(summary) and "armed group" not in listing.text
    assert "child" in items[open_case["id"]]
    # The owner's list shows the whole case.
    own = client.get(f"{API}/cases", headers=world.owner.headers).json()["items"]
    assert [item["child"]["given_name"] for item in own if item["id"] == case["id"]] == [
        "Restricted"
    ]

    for response in (
        client.get(f"{API}/cases", params={"name": "Restricted"}, headers=world.supervisor.headers),
        client.post(
            f"{API}/cases/search",
            json={"name": "Restricted Child"},
            headers=world.supervisor.headers,
        ),
    ):
        assert response.status_code == 200
        assert [item["id"] for item in response.json()["items"]] == [open_case["id"]]
    found = client.get(f"{API}/cases", params={"name": "Restricted"}, headers=world.owner.headers)
    assert [item["id"] for item in found.json()["items"]] == [case["id"]]
    # Filters on plain columns still list it for oversight, as a summary.
    overdue = client.get(
        f"{API}/cases", params={"stage": "implementation"}, headers=world.supervisor.headers
    ).json()["items"]
    assert [item.get("content_withheld") for item in overdue] == [True]


def test_duplicate_warnings_and_tracing_matches_do_not_reveal_it(
    client: TestClient, db: Session, runtime: Runtime, settings: Settings, world: World
) -> None:
    case = _restricted_case(client, db, runtime, settings, world)
    # A colleague on the list is warned of the duplicate; off the list, not any more.
    assert _grant(client, world.owner, case["id"], world.colleague).status_code == 201
    twin = create(client, world.colleague, body("Restricted", "Child"))
    assert twin["possible_duplicates"] == [case["id"]]
    removed = client.delete(
        f"{API}/cases/{case['id']}/access-list/{world.colleague.id}", headers=world.owner.headers
    )
    assert removed.status_code == 204
    again = create(client, world.colleague, body("Restricted", "Child"))
    assert again["possible_duplicates"] == [twin["id"]]
    assert client.get(f"{API}/cases/{case['id']}", headers=world.colleague.headers).status_code == (
        404
    )

    enquiry = {
        "enquirer": {"name": "Ahmad", "relationship": "father"},
        "sought": {"names": ["Restricted Child"], "sex": "female", "date_of_birth": "2014-03-09"},
    }
    request = client.post(f"{API}/tracing-requests", json=enquiry, headers=world.colleague.headers)
    assert request.status_code == 201, request.text
    matches = client.get(
        f"{API}/tracing-requests/{request.json()['id']}/matches", headers=world.supervisor.headers
    )
    assert matches.status_code == 200
    seen = [item["case_id"] for item in matches.json()["items"]]
    assert case["id"] not in seen and twin["id"] in seen


def test_who_may_restrict_and_manage_the_list(
    client: TestClient, world: World, second_supervisor: Actor
) -> None:
    case = create(client, world.owner, body("Shared", "Child"))
    # A supervisor who restricts a case it does not own stays able to read it (it is listed).
    restricted = patch(client, world.supervisor, case, {"restricted": True})
    assert restricted.status_code == 200, restricted.text
    assert restricted.json()["restricted"] is True
    entries = client.get(
        f"{API}/cases/{case['id']}/access-list", headers=world.supervisor.headers
    ).json()["items"]
    assert [entry["user_id"] for entry in entries] == [str(world.supervisor.id)]
    assert client.get(
        f"{API}/cases/{case['id']}", headers=second_supervisor.headers
    ).status_code == (404)

    # A listed colleague reads the case but neither lifts the restriction nor changes the list.
    assert _grant(client, world.owner, case["id"], world.colleague).status_code == 201
    current = client.get(f"{API}/cases/{case['id']}", headers=world.colleague.headers)
    assert current.status_code == 200
    lift = patch(client, world.colleague, current.json(), {"restricted": False})
    assert lift.status_code == 403
    assert lift.headers["content-type"] == "application/problem+json"
    assert _grant(client, world.colleague, case["id"], second_supervisor).status_code == 403
    # But may change the content like the owner.
    assert patch(client, world.colleague, current.json(), {"narrative": "Seen."}).status_code == 200

    # Who may be listed: active case staff of the case's agency only, and not the owner.
    other_agency = _grant(client, world.owner, case["id"], world.other_supervisor)
    assert other_agency.status_code == 404
    admin = _grant(client, world.owner, case["id"], world.agency_admin)
    assert admin.status_code == 404
    owner = _grant(client, world.owner, case["id"], world.owner)
    assert owner.status_code == 422 and owner.json()["errors"][0]["loc"] == ["body", "user_id"]
    repeat = _grant(client, world.owner, case["id"], world.colleague)
    assert repeat.status_code == 200
    missing = client.delete(
        f"{API}/cases/{case['id']}/access-list/{second_supervisor.id}", headers=world.owner.headers
    )
    assert missing.status_code == 404
    bad = client.post(
        f"{API}/cases/{case['id']}/access-list",
        json={"user_id": "nope", "extra": 1},
        headers=world.owner.headers,
    )
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["errors"]} == {
        ("body", "user_id"),
        ("body", "extra"),
    }

    # The owner lifts the restriction: every supervisor of the agency reads it again.
    latest = client.get(f"{API}/cases/{case['id']}", headers=world.owner.headers).json()
    opened = patch(client, world.owner, latest, {"restricted": False})
    assert opened.status_code == 200 and opened.json()["restricted"] is False
    assert client.get(
        f"{API}/cases/{case['id']}", headers=second_supervisor.headers
    ).status_code == (200)


def test_restriction_at_intake_and_every_change_is_audited(
    client: TestClient, db: Session, world: World, second_supervisor: Actor
) -> None:
    case = create(
        client,
        world.owner,
        body("Intake", "Restricted", restricted=True, restriction_reason="High-profile family."),
    )
    assert case["restricted"] is True
    assert client.get(
        f"{API}/cases/{case['id']}", headers=world.supervisor.headers
    ).status_code == (404)
    restrict = _events(db, "case.restrict", case["id"])
    assert [_detail(e).get("restricted") for e in restrict] == [True]
    assert _detail(restrict[0]).get("reason_given") is True
    assert _grant(
        client, world.owner, case["id"], second_supervisor, reason="Lead"
    ).status_code == (201)
    client.delete(
        f"{API}/cases/{case['id']}/access-list/{second_supervisor.id}", headers=world.owner.headers
    )
    grants = _events(db, "case.access_grant", case["id"])
    revokes = _events(db, "case.access_revoke", case["id"])
    assert [_detail(e).get("user_id") for e in grants] == [str(second_supervisor.id)]
    assert [_detail(e).get("user_id") for e in revokes] == [str(second_supervisor.id)]
    # The reasons never reach the audit log or the database in the clear.
    for event in (*restrict, *grants):
        assert "High-profile" not in str(event.detail) and "Lead" not in str(event.detail)
    refused = _events(db, "case.read", case["id"])
    assert any(e.outcome == "denied" and e.actor_id == world.supervisor.id for e in refused)


def test_partners_still_read_a_live_referral_of_a_restricted_case(
    client: TestClient, world: World, second_supervisor: Actor
) -> None:
    case = create(client, world.owner, body("Referred", "Child", restricted=True))
    assert _grant(client, world.owner, case["id"], second_supervisor).status_code == 201
    partner_agency = client.get(f"{API}/auth/me", headers=world.partner.headers).json()["agency_id"]
    referral = client.post(
        f"{API}/cases/{case['id']}/referrals",
        json={
            "to_agency_id": partner_agency,
            "service_type": "medical",
            "urgency": "high",
            "reason": "Needs a medical check.",
            "shared_fields": ["child.given_name", "location.district"],
            "consent": {"given_by": "caregiver", "obtained_at": "2026-11-01T10:00:00Z"},
        },
        headers=world.owner.headers,
    )
    assert referral.status_code == 201, referral.text
    rid = referral.json()["id"]
    # The unlisted supervisor cannot approve what it may not see; the listed one can.
    no = client.post(f"{API}/referrals/{rid}/approve", headers=world.supervisor.headers)
    assert no.status_code == 404
    yes = client.post(f"{API}/referrals/{rid}/approve", headers=second_supervisor.headers)
    assert yes.status_code == 200, yes.text
    assert client.get(f"{API}/referrals/{rid}", headers=world.supervisor.headers).status_code == 404
    listed = client.get(f"{API}/referrals", headers=world.supervisor.headers).json()["items"]
    assert rid not in [item["id"] for item in listed]
    partner = client.get(f"{API}/referrals/{rid}", headers=world.partner.headers)
    assert partner.status_code == 200, partner.text
    assert "Referred" in partner.text and "Sinjar" in partner.text
