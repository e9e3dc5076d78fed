"""What a partner sees: only the shared fields, only while live; access ends with the work."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from tests.factories import API, World
from tests.referrals_support import (
    CAREGIVER_PHONE,
    CONSENT_NOTE,
    MARKERS,
    REASON,
    act,
    propose,
    referral_in,
)

PARTNER_VISIBLE = ["sent", "accepted", "in_progress", "completed", "declined", "cancelled"]
LIVE = {"sent", "accepted", "in_progress"}
STAFF_ONLY_TEXT = [CONSENT_NOTE, "MKrejection", "MKcancel"]
"""Texts written for the referring side only; never in any partner response."""

SHARINGS = [
    [],
    ["child.given_name", "location.district"],
    ["narrative", "caregivers", "protection_concerns"],
    ["child.family_name", "child.date_of_birth", "location.address", "location.governorate"],
]


def _marker_hits(text: str, shared: list[str]) -> list[str]:
    """Markers of unshared fields found in `text`."""
    hits = [m for path, m in MARKERS.items() if path not in shared and m in text]
    if "caregivers" not in shared and CAREGIVER_PHONE in text:
        hits.append(CAREGIVER_PHONE)
    return hits


def _partner_responses(client: TestClient, world: World, rid: str) -> list[tuple[str, Any]]:
    detail = client.get(f"{API}/referrals/{rid}", headers=world.h["partner"])
    listed = client.get(f"{API}/referrals", headers=world.h["partner"])
    read_only = client.get(f"{API}/referrals/{rid}", headers=world.h["partner_read"])
    assert detail.status_code == listed.status_code == read_only.status_code == 200
    return [("detail", detail), ("list", listed), ("read-only detail", read_only)]


@pytest.mark.parametrize("shared", SHARINGS, ids=["nothing", "name+district", "story", "rest"])
def test_no_unshared_marker_reaches_a_partner_in_any_state(
    client: TestClient, world: World, shared: list[str]
) -> None:
    problems: list[str] = []
    for state in PARTNER_VISIBLE:
        rid = referral_in(client, world, state, shared_fields=shared)
        # Everything the partner ever gets: action answers included.
        answers: list[tuple[str, Any]] = _partner_responses(client, world, rid)
        for kind, response in answers:
            text = response.text
            hits = _marker_hits(text, shared) + [t for t in STAFF_ONLY_TEXT if t in text]
            if hits:
                problems.append(f"{state} {kind}: {hits}")
            body = response.json()
            items = body["items"] if kind == "list" else [body]
            item = next(i for i in items if i["id"] == rid)
            assert item["view"] == "partner"
            assert "case_id" not in item and "case_number" not in item
            if state in LIVE:
                assert item["case"] is not None
                assert sorted(item["case"]) == sorted(shared), (state, kind)
                assert item["reason"] == REASON
                for path in shared:
                    if path in MARKERS and path != "protection_concerns":
                        assert MARKERS[path] in text, (state, kind, path)
            else:
                assert item["case"] is None, (state, kind)
                assert item["reason"] is None, (state, kind)
                own = json.dumps(item, ensure_ascii=False)
                found = [m for m in [*MARKERS.values(), REASON] if m in own]
                assert found == [], (state, kind, found)
    assert problems == []


def test_action_answers_to_the_partner_are_minimised_too(client: TestClient, world: World) -> None:
    rid = propose(client, world)["id"]
    act(client, world, rid, "approve", "supervisor")
    shared = ["child.given_name", "location.district"]
    for action, body in (
        ("accept", None),
        ("updates", {"note": "First visit"}),
        ("complete", {"outcome": "Done"}),
    ):
        response = act(client, world, rid, action, "partner", body)
        assert response.status_code == 200
        assert response.json()["view"] == "partner"
        assert _marker_hits(response.text, shared) == []
        assert all(t not in response.text for t in STAFF_ONLY_TEXT)


@pytest.mark.parametrize(
    ("state", "action", "who", "body"),
    [
        ("in_progress", "complete", "partner", {"outcome": "Reunified with family"}),
        ("sent", "decline", "partner", {"reason": "Outside our area"}),
        ("accepted", "cancel", "caseworker", {"reason": "Family moved"}),
    ],
)
def test_access_to_case_fields_ends_with_the_work(
    client: TestClient,
    world: World,
    state: str,
    action: str,
    who: str,
    body: dict[str, Any],
) -> None:
    rid = referral_in(client, world, state)
    live = client.get(f"{API}/referrals/{rid}", headers=world.h["partner"]).json()
    assert live["case"] == {"child.given_name": "MKgiven", "location.district": "MKdistrict"}
    assert act(client, world, rid, action, who, body).status_code == 200
    after = client.get(f"{API}/referrals/{rid}", headers=world.h["partner"])
    assert after.status_code == 200
    ended = after.json()
    assert ended["case"] is None
    assert ended["reason"] is None
    assert "MKgiven" not in after.text and "MKdistrict" not in after.text
    # The partner still reads the status and its own updates.
    assert ended["status"] in {"completed", "declined", "cancelled"}
    if state == "in_progress":
        assert [u["note"] for u in ended["updates"]] == ["MKupdate progress"]
        assert ended["outcome"] == "Reunified with family"
    # Staff still read everything.
    staff = client.get(f"{API}/referrals/{rid}", headers=world.h["caseworker"]).json()
    assert staff["case"] == live["case"]
    assert staff["reason"] == REASON


@pytest.mark.parametrize("state", ["pending_approval", "sent", "accepted", "in_progress"])
def test_withdrawn_consent_ends_partner_access_at_once_and_is_recorded(
    client: TestClient, world: World, db: Session, state: str
) -> None:
    rid = referral_in(client, world, state)
    response = act(client, world, rid, "cancel", "caseworker", {"reason": "consent_withdrawn"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["consent_withdrawn"] is True
    assert body["consent_withdrawn_by"] == str(world.owner.id)
    assert body["consent_withdrawn_at"] is not None
    assert body["cancel_reason"] == "consent_withdrawn"

    partner = client.get(f"{API}/referrals/{rid}", headers=world.h["partner"])
    if state == "pending_approval":
        assert partner.status_code == 404  # it was never sent
    else:
        assert partner.status_code == 200
        assert partner.json()["case"] is None
        assert partner.json()["consent_withdrawn"] is True
        assert "MKgiven" not in partner.text
        assert act(client, world, rid, "updates", "partner", {"note": "x"}).status_code == 409

    # The case's history shows that consent was withdrawn, and who recorded it.
    [event] = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "referral.cancel", AuditEvent.resource_id == rid
        )
    ).all()
    assert event.case_id == world.case_id
    assert event.actor_id == world.owner.id
    assert json.loads(event.detail or "{}")["consent_withdrawn"] is True
    listed = client.get(
        f"{API}/cases/{world.case_id}/referrals", headers=world.h["supervisor"]
    ).json()["items"]
    assert [i["consent_withdrawn"] for i in listed if i["id"] == rid] == [True]


def test_partners_see_only_their_own_agencys_updates(client: TestClient, world: World) -> None:
    rid = referral_in(client, world, "in_progress")
    updates = client.get(f"{API}/referrals/{rid}", headers=world.h["partner_read"]).json()[
        "updates"
    ]
    assert [u["author_id"] for u in updates] == [str(world.partner.id)]
    assert [u["author_type"] for u in updates] == ["client"]


def test_a_referral_cancelled_before_approval_never_reaches_the_partner(
    client: TestClient, world: World
) -> None:
    rid = propose(client, world)["id"]
    assert (
        act(client, world, rid, "cancel", "caseworker", {"reason": "MKcancel"}).status_code == 200
    )
    assert client.get(f"{API}/referrals/{rid}", headers=world.h["partner"]).status_code == 404
    listed = client.get(f"{API}/referrals", headers=world.h["partner"]).json()["items"]
    assert rid not in [i["id"] for i in listed]
    assert act(client, world, rid, "accept", "partner").status_code == 404
