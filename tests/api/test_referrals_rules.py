"""Referral rules through HTTP: the state machine, consent, validation, who may do what."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.cases import Case
from models.referrals import Referral, ReferralUpdate
from tests.factories import API, World
from tests.referrals_support import ACTION_BODIES, PATH_TO_STATE, act, referral_body, referral_in

# --- the state machine ---------------------------------------------------------------------

LEGAL = {
    ("pending_approval", "approve"),
    ("pending_approval", "reject"),
    ("pending_approval", "cancel"),
    ("sent", "accept"),
    ("sent", "decline"),
    ("sent", "cancel"),
    ("accepted", "updates"),
    ("accepted", "complete"),
    ("accepted", "cancel"),
    ("in_progress", "updates"),
    ("in_progress", "complete"),
    ("in_progress", "cancel"),
}
ILLEGAL = [
    (state, action)
    for state in PATH_TO_STATE
    for action in ACTION_BODIES
    if (state, action) not in LEGAL
]
PARTNER_HIDDEN = {"pending_approval", "rejected"}
"""States in which the partner cannot see the referral at all: its actions meet 404, not 409."""


def _snapshot(db: Session, referral_id: str) -> tuple[Any, ...]:
    db.expire_all()
    row = db.get(Referral, uuid.UUID(referral_id))
    assert row is not None
    updates = db.scalar(
        select(ReferralUpdate.id).where(ReferralUpdate.referral_id == row.id).limit(1)
    )
    return (
        row.status,
        row.version,
        row.updated_at,
        row.approved_at,
        row.responded_at,
        row.completed_at,
        row.cancelled_at,
        row.rejected_at,
        row.outcome_encrypted,
        updates,
    )


@pytest.mark.parametrize("state", list(PATH_TO_STATE))
def test_every_illegal_transition_is_409_and_changes_nothing(
    client: TestClient, world: World, db: Session, state: str
) -> None:
    """State x action: every action the table does not allow from `state`, on one referral
    (each attempt must leave it exactly as it was, so the next attempt meets the same state)."""
    referral_id = referral_in(client, world, state)
    before = _snapshot(db, referral_id)
    failures = []
    actions = [action for s, action in ILLEGAL if s == state]
    assert actions
    for action in actions:
        who, body = ACTION_BODIES[action]
        response = act(client, world, referral_id, action, who, body)
        expected = 404 if who == "partner" and state in PARTNER_HIDDEN else 409
        if response.status_code != expected:
            failures.append(f"{state} x {action}: {response.status_code} {response.text}")
        elif response.headers["content-type"] != "application/problem+json":
            failures.append(f"{state} x {action}: not problem+json")
        if _snapshot(db, referral_id) != before:
            failures.append(f"{state} x {action}: the referral changed")
    assert failures == []


def test_the_legal_table_is_exactly_the_contract() -> None:
    from services.referrals.states import TRANSITIONS

    names = {
        "referral.approve": "approve",
        "referral.reject": "reject",
        "referral.accept": "accept",
        "referral.decline": "decline",
        "referral.update": "updates",
        "referral.complete": "complete",
        "referral.cancel": "cancel",
    }
    assert {(t.from_status.value, names[t.action.value]) for t in TRANSITIONS} == LEGAL


# --- consent and validation ----------------------------------------------------------------


def _post(client: TestClient, world: World, body: dict[str, Any], who: str = "caseworker") -> Any:
    return client.post(f"{API}/cases/{world.case_id}/referrals", json=body, headers=world.h[who])


def _count(db: Session, world: World) -> int:
    return len(list(db.scalars(select(Referral.id).where(Referral.case_id == world.case_id))))


def test_no_consent_no_referral(client: TestClient, world: World, db: Session) -> None:
    body = referral_body(world.partner_agency.id)
    del body["consent"]
    response = _post(client, world, body)
    assert response.status_code == 422
    assert ["body", "consent"] in [e["loc"] for e in response.json()["errors"]]
    assert _count(db, world) == 0


def test_best_interest_override_needs_a_justification(
    client: TestClient, world: World, db: Session
) -> None:
    consent = {"given_by": "best_interest_override", "obtained_at": "2026-01-01T00:00:00Z"}
    missing = _post(client, world, referral_body(world.partner_agency.id, consent=consent))
    assert missing.status_code == 422
    assert missing.json()["errors"] == [
        {
            "loc": ["body", "consent", "note"],
            "msg": "A best-interest override needs a written justification.",
        }
    ]
    blank = _post(
        client, world, referral_body(world.partner_agency.id, consent={**consent, "note": "   "})
    )
    assert blank.status_code == 422
    assert _count(db, world) == 0
    justified = _post(
        client,
        world,
        referral_body(
            world.partner_agency.id, consent={**consent, "note": "Caregiver unreachable"}
        ),
    )
    assert justified.status_code == 201
    assert justified.json()["best_interest_override"] is True
    # The approving supervisor sees the justification.
    seen = client.get(f"{API}/referrals/{justified.json()['id']}", headers=world.h["supervisor"])
    assert seen.json()["consent"]["note"] == "Caregiver unreachable"


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"given_by": "neighbour"}, ["body", "consent", "given_by"]),
        ({"obtained_at": "2026-01-01T00:00:00"}, ["body", "consent", "obtained_at"]),
        ({"obtained_at": "not a date"}, ["body", "consent", "obtained_at"]),
        ({"extra": "x"}, ["body", "consent", "extra"]),
    ],
)
def test_consent_shape_is_strict(
    client: TestClient, world: World, change: dict[str, Any], loc: list[str]
) -> None:
    body = referral_body(world.partner_agency.id)
    body["consent"] = {**body["consent"], **change}
    response = _post(client, world, body)
    assert response.status_code == 422
    assert loc in [e["loc"] for e in response.json()["errors"]]


def test_consent_cannot_be_obtained_in_the_future(client: TestClient, world: World) -> None:
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    body = referral_body(world.partner_agency.id)
    body["consent"]["obtained_at"] = later
    response = _post(client, world, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "consent", "obtained_at"]


def test_unknown_shared_field_is_422_naming_its_index(
    client: TestClient, world: World, db: Session
) -> None:
    body = referral_body(
        world.partner_agency.id,
        shared_fields=["child.given_name", "child.favourite_colour", "caregivers"],
    )
    response = _post(client, world, body)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", "shared_fields", 1]
    duplicate = _post(
        client,
        world,
        referral_body(world.partner_agency.id, shared_fields=["narrative", "narrative"]),
    )
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["loc"] == ["body", "shared_fields", 1]
    assert _count(db, world) == 0


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"service_type": "astrology"}, ["body", "service_type"]),
        ({"urgency": "urgent"}, ["body", "urgency"]),
        ({"reason": ""}, ["body", "reason"]),
        ({"reason": "x" * 4001}, ["body", "reason"]),
        ({"to_agency_id": "not-a-uuid"}, ["body", "to_agency_id"]),
        ({"colour": "blue"}, ["body", "colour"]),
    ],
)
def test_bad_fields_are_422_naming_the_field(
    client: TestClient, world: World, change: dict[str, Any], loc: list[str]
) -> None:
    response = _post(client, world, {**referral_body(world.partner_agency.id), **change})
    assert response.status_code == 422
    assert loc in [e["loc"] for e in response.json()["errors"]]


def test_receiving_agency_must_exist_and_be_another_agency(
    client: TestClient, world: World, db: Session
) -> None:
    unknown = _post(client, world, referral_body(uuid.uuid4()))
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == ["body", "to_agency_id"]
    own = _post(client, world, referral_body(world.agency.id))
    assert own.status_code == 422
    assert own.json()["errors"][0]["loc"] == ["body", "to_agency_id"]
    assert _count(db, world) == 0


def test_a_referral_only_from_an_open_case(client: TestClient, world: World, db: Session) -> None:
    case = db.get(Case, world.case_id)
    assert case is not None
    case.status = "closed"
    db.flush()
    response = _post(client, world, referral_body(world.partner_agency.id))
    assert response.status_code == 409
    assert _count(db, world) == 0


def test_action_bodies_are_required_and_strict(client: TestClient, world: World) -> None:
    rid = referral_in(client, world, "sent")
    assert act(client, world, rid, "decline", "partner", {}).status_code == 422
    assert act(client, world, rid, "decline", "partner", {"reason": " "}).status_code == 422
    assert act(client, world, rid, "decline", "partner", {"reason": "x", "y": 1}).status_code == 422
    bad_etag = client.post(
        f"{API}/referrals/{rid}/accept", headers={**world.h["partner"], "If-Match": "soon"}
    )
    assert bad_etag.status_code == 422
    assert bad_etag.json()["errors"][0]["loc"] == ["header", "If-Match"]
    assert act(client, world, rid, "accept", "partner").status_code == 200


# --- who may act ---------------------------------------------------------------------------


def test_a_read_only_partner_token_cannot_respond(client: TestClient, world: World) -> None:
    sent = referral_in(client, world, "sent")
    accepted = referral_in(client, world, "accepted")
    for rid, action, body in (
        (sent, "accept", None),
        (sent, "decline", {"reason": "No"}),
        (accepted, "updates", {"note": "n"}),
        (accepted, "complete", {"outcome": "o"}),
    ):
        response = act(client, world, rid, action, "partner_read", body)
        assert response.status_code == 403, (action, response.text)
    assert (
        client.get(f"{API}/referrals/{sent}", headers=world.h["partner_read"]).json()["status"]
        == "sent"
    )


def test_another_partner_agency_meets_404_everywhere(client: TestClient, world: World) -> None:
    rid = referral_in(client, world, "sent")
    other = world.h["other_partner"]
    assert client.get(f"{API}/referrals/{rid}", headers=other).status_code == 404
    assert client.get(f"{API}/referrals", headers=other).json()["items"] == []
    assert act(client, world, rid, "accept", "other_partner").status_code == 404
    assert act(client, world, rid, "decline", "other_partner", {"reason": "x"}).status_code == 404
    # ... and it is the same answer as for a referral that does not exist.
    assert client.get(f"{API}/referrals/{uuid.uuid4()}", headers=other).status_code == 404


def test_partners_cannot_cancel_approve_or_create(client: TestClient, world: World) -> None:
    rid = referral_in(client, world, "sent")
    assert act(client, world, rid, "cancel", "partner", {"reason": "x"}).status_code == 403
    assert act(client, world, rid, "approve", "partner").status_code == 403
    response = client.post(
        f"{API}/cases/{world.case_id}/referrals",
        json=referral_body(world.partner_agency.id),
        headers=world.h["partner"],
    )
    assert response.status_code == 403
    on_case = client.get(f"{API}/cases/{world.case_id}/referrals", headers=world.h["partner"])
    assert on_case.status_code == 404


def test_other_caseworkers_and_other_agencies_do_not_see_the_referral(
    client: TestClient, world: World
) -> None:
    rid = referral_in(client, world, "sent")
    for who in ("other_caseworker", "other_supervisor"):
        assert client.get(f"{API}/referrals/{rid}", headers=world.h[who]).status_code == 404
        assert client.get(f"{API}/referrals", headers=world.h[who]).json()["items"] == []
        assert act(client, world, rid, "cancel", who, {"reason": "x"}).status_code == 404
    for who in ("admin", "auditor"):
        assert client.get(f"{API}/referrals/{rid}", headers=world.h[who]).status_code == 403
        assert client.get(f"{API}/referrals", headers=world.h[who]).status_code == 403


def test_supervisor_may_cancel_and_the_owner_too(client: TestClient, world: World) -> None:
    by_owner = referral_in(client, world, "sent")
    by_supervisor = referral_in(client, world, "in_progress")
    assert (
        act(client, world, by_owner, "cancel", "caseworker", {"reason": "Moved"}).status_code == 200
    )
    response = act(client, world, by_supervisor, "cancel", "supervisor", {"reason": "Moved"})
    assert response.status_code == 200
    assert response.json()["cancelled_by"] == str(world.supervisor.id)
    assert response.json()["consent_withdrawn"] is False
