"""The referral workflow through HTTP: proposal, review, the partner's work, feedback, audit."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from models.base import utcnow
from models.referrals import Referral
from tests.factories import API, World
from tests.referrals_support import CONSENT_NOTE, REASON, act, drive, propose, referral_in


def _events(db: Session, **where: Any) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.seq)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return list(db.scalars(query))


def test_whole_flow_from_proposal_to_completion(
    client: TestClient, world: World, db: Session
) -> None:
    created = propose(client, world)
    rid = created["id"]
    assert created["status"] == "pending_approval"
    assert created["version"] == 1
    assert created["view"] == "staff"
    assert created["reason"] == REASON
    assert created["consent"]["given_by"] == "caregiver"
    assert created["consent"]["note"] == CONSENT_NOTE
    assert created["case"] == {"child.given_name": "MKgiven", "location.district": "MKdistrict"}
    # Only the moves this caller may make: a caseworker cancels, a supervisor decides.
    assert created["allowed_actions"] == ["referral.cancel"]
    as_supervisor = client.get(f"{API}/referrals/{rid}", headers=world.h["supervisor"]).json()
    assert as_supervisor["allowed_actions"] == [
        "referral.approve",
        "referral.cancel",
        "referral.reject",
    ]

    # Not yet visible to the partner.
    assert client.get(f"{API}/referrals/{rid}", headers=world.h["partner"]).status_code == 404
    assert client.get(f"{API}/referrals", headers=world.h["partner"]).json()["items"] == []

    approved = act(client, world, rid, "approve", "supervisor")
    assert approved.status_code == 200, approved.text
    assert approved.headers["ETag"] == '"2"'
    assert approved.json()["status"] == "sent"
    assert approved.json()["approved_by"] == str(world.supervisor.id)
    assert approved.json()["respond_due_at"] is not None

    listed = client.get(f"{API}/referrals", headers=world.h["partner"])
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["view"] == "partner"
    assert item["id"] == rid
    assert item["case"] == {"child.given_name": "MKgiven", "location.district": "MKdistrict"}
    assert item["reason"] == REASON
    assert "case_id" not in item
    assert item["allowed_actions"] == ["referral.accept", "referral.decline"]

    accepted = act(client, world, rid, "accept", "partner")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.headers["ETag"] == '"3"'

    first = act(client, world, rid, "updates", "partner", {"note": "Session one held"})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "in_progress"
    second = act(client, world, rid, "updates", "partner", {"note": "Session two held"})
    assert second.json()["status"] == "in_progress"
    assert [u["note"] for u in second.json()["updates"]] == [
        "Session one held",
        "Session two held",
    ]

    done = act(client, world, rid, "complete", "partner", {"outcome": "Attends weekly group"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    assert done.json()["version"] == 6
    assert done.json()["case"] is None
    assert done.json()["reason"] is None

    # Feedback reaches the referring caseworker and supervisor, whole.
    for who in ("caseworker", "supervisor"):
        seen = client.get(f"{API}/referrals/{rid}", headers=world.h[who])
        assert seen.status_code == 200
        body = seen.json()
        assert body["view"] == "staff"
        assert body["outcome"] == "Attends weekly group"
        assert [u["note"] for u in body["updates"]] == ["Session one held", "Session two held"]
        assert body["completed_by"] == str(world.partner.id)
        assert seen.headers["ETag"] == '"6"'

    on_case = client.get(f"{API}/cases/{world.case_id}/referrals", headers=world.h["caseworker"])
    assert on_case.status_code == 200
    assert [r["id"] for r in on_case.json()["items"]] == [rid]

    # The case's history (audit, by case id) shows every step, with names only.
    actions = [e.action for e in _events(db, case_id=world.case_id, outcome="success")]
    for expected in (
        "referral.create",
        "referral.approve",
        "referral.accept",
        "referral.update",
        "referral.complete",
        "referral.read",
    ):
        assert expected in actions
    for event in _events(db, case_id=world.case_id):
        text = json.dumps([event.fields, event.detail])
        assert "Session one" not in text and "Attends" not in text and "MK" not in text


def test_partner_reads_and_lists_are_audited_with_field_names(
    client: TestClient, world: World, db: Session
) -> None:
    rid = referral_in(client, world, "sent")
    assert client.get(f"{API}/referrals/{rid}", headers=world.h["partner"]).status_code == 200
    assert client.get(f"{API}/referrals", headers=world.h["partner"]).status_code == 200
    served = ["case.child.given_name", "case.location.district", "reason"]
    [read] = _events(db, action="referral.read", actor_id=world.partner.id)
    assert read.case_id == world.case_id
    assert read.actor_type == "client"
    assert json.loads(read.fields or "[]") == served
    # The list is one event naming each referral it served, with the same facts as a read.
    [listing] = _events(db, action="referral.list", actor_id=world.partner.id)
    detail = json.loads(listing.detail or "{}")
    assert detail["count"] == 1
    assert detail["served"] == [
        {
            "id": rid,
            "case_id": str(world.case_id),
            "status": "sent",
            "view": "partner",
            "fields": served,
        }
    ]
    # An action's answer discloses the view too, so it is recorded as a read as well.
    assert act(client, world, rid, "accept", "partner").status_code == 200
    reads = _events(db, action="referral.read", actor_id=world.partner.id)
    assert json.loads(reads[-1].detail or "{}")["via"] == "referral.accept"
    assert json.loads(reads[-1].fields or "[]") == [
        "case.child.given_name",
        "case.location.district",
        "reason",
    ]


def test_idempotency_key_returns_the_same_referral(
    client: TestClient, world: World, db: Session
) -> None:
    from tests.referrals_support import referral_body

    body = referral_body(world.partner_agency.id)
    url = f"{API}/cases/{world.case_id}/referrals"
    headers = {**world.h["caseworker"], "Idempotency-Key": "ref-1"}
    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert len(list(db.scalars(select(Referral.id).where(Referral.case_id == world.case_id)))) == 1
    changed = client.post(url, json={**body, "urgency": "low"}, headers=headers)
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]


def test_supervisor_review_queue_is_most_urgent_then_oldest_first(
    client: TestClient, world: World, db: Session
) -> None:
    low = propose(client, world, urgency="low")["id"]
    high_old = propose(client, world, urgency="high")["id"]
    medium = propose(client, world, urgency="medium")["id"]
    high_new = propose(client, world, urgency="high")["id"]
    sent = referral_in(client, world, "sent")
    override = propose(
        client,
        world,
        urgency="low",
        consent={
            "given_by": "best_interest_override",
            "obtained_at": "2026-01-02T03:04:05Z",
            "note": "Caregiver is the suspected recruiter",
        },
    )["id"]
    # Make the creation order unambiguous whatever the clock resolution.
    base = utcnow() - timedelta(hours=10)
    for offset, rid in enumerate([low, high_old, medium, high_new, override]):
        db.execute(
            update(Referral)
            .where(Referral.id == uuid.UUID(rid))
            .values(created_at=base + timedelta(minutes=offset))
        )
    db.flush()

    page = client.get(
        f"{API}/referrals", params={"status": "pending_approval"}, headers=world.h["supervisor"]
    )
    assert page.status_code == 200
    items = page.json()["items"]
    assert [i["id"] for i in items] == [high_old, high_new, medium, low, override]
    assert sent not in [i["id"] for i in items]
    flagged = items[-1]
    assert flagged["best_interest_override"] is True
    assert flagged["consent"]["note"] == "Caregiver is the suspected recruiter"
    for item in items:
        assert {"service_type", "urgency", "shared_fields", "consent"} <= item.keys()

    # Paging walks the same order without repeats.
    ids: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"status": "pending_approval", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        got = client.get(f"{API}/referrals", params=params, headers=world.h["supervisor"]).json()
        ids += [i["id"] for i in got["items"]]
        cursor = got["next_cursor"]
        if cursor is None:
            break
    assert ids == [high_old, high_new, medium, low, override]
    bad = client.get(
        f"{API}/referrals", params={"cursor": "nonsense"}, headers=world.h["supervisor"]
    )
    assert bad.status_code == 422


def test_caseworker_can_never_approve_not_even_their_own(client: TestClient, world: World) -> None:
    rid = propose(client, world)["id"]
    for action in ("approve", "reject"):
        response = act(client, world, rid, action, "caseworker", {"reason": "x"})
        assert response.status_code == 403, response.text
    assert (
        client.get(f"{API}/referrals/{rid}", headers=world.h["caseworker"]).json()["status"]
        == "pending_approval"
    )


def test_reject_needs_a_reason_and_hides_the_referral_from_the_partner(
    client: TestClient, world: World
) -> None:
    rid = propose(client, world)["id"]
    assert act(client, world, rid, "reject", "supervisor", {}).status_code == 422
    rejected = act(client, world, rid, "reject", "supervisor", {"reason": "Wrong service"})
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "Wrong service"
    assert client.get(f"{API}/referrals/{rid}", headers=world.h["partner"]).status_code == 404


def test_overdue_referrals_show_up_for_the_referring_supervisor(
    client: TestClient, world: World, db: Session
) -> None:
    late = referral_in(client, world, "sent")
    on_time = referral_in(client, world, "sent")
    answered = referral_in(client, world, "accepted")
    past = utcnow() - timedelta(hours=1)
    db.execute(
        update(Referral)
        .where(Referral.id.in_([uuid.UUID(late), uuid.UUID(answered)]))
        .values(respond_due_at=past)
    )
    db.flush()
    response = client.get(
        f"{API}/referrals", params={"overdue": "true"}, headers=world.h["supervisor"]
    )
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["id"] for i in items] == [late]
    assert items[0]["overdue"] is True
    fine = client.get(f"{API}/referrals/{on_time}", headers=world.h["supervisor"]).json()
    assert fine["overdue"] is False
    not_late = client.get(
        f"{API}/referrals", params={"overdue": "false"}, headers=world.h["supervisor"]
    ).json()["items"]
    assert late not in [i["id"] for i in not_late]
    assert {on_time, answered} <= {i["id"] for i in not_late}


def test_response_time_comes_from_the_urgency_settings(client: TestClient, world: World) -> None:
    rid = propose(client, world, urgency="low")["id"]
    body = act(client, world, rid, "approve", "supervisor").json()
    from datetime import datetime

    due = datetime.fromisoformat(body["respond_due_at"])
    sent = datetime.fromisoformat(body["approved_at"])
    assert due - sent == timedelta(hours=168)


def test_filters_by_status_and_service_type(client: TestClient, world: World) -> None:
    a = propose(client, world, service_type="medical")["id"]
    b = referral_in(client, world, "sent", service_type="education")
    sup = world.h["supervisor"]
    by_service = client.get(f"{API}/referrals", params={"service_type": "medical"}, headers=sup)
    assert [i["id"] for i in by_service.json()["items"]] == [a]
    by_status = client.get(f"{API}/referrals", params={"status": "sent"}, headers=sup)
    assert [i["id"] for i in by_status.json()["items"]] == [b]
    wrong = client.get(f"{API}/referrals", params={"status": "nonsense"}, headers=sup)
    assert wrong.status_code == 422


def test_if_match_on_an_action_applies_only_to_that_version(
    client: TestClient, world: World
) -> None:
    rid = propose(client, world)["id"]
    headers = {**world.h["supervisor"], "If-Match": '"7"'}
    response = client.post(f"{API}/referrals/{rid}/approve", headers=headers)
    assert response.status_code == 409
    headers["If-Match"] = '"1"'
    assert client.post(f"{API}/referrals/{rid}/approve", headers=headers).status_code == 200


def test_drive_helper_reaches_every_state(client: TestClient, world: World) -> None:
    for state in ("sent", "rejected", "accepted", "declined", "in_progress", "completed"):
        rid = propose(client, world)["id"]
        last: dict[str, Any] = drive(client, world, rid, state)
        assert last["status"] == state


def test_a_partner_works_its_referral_with_client_credentials_only(
    client: TestClient, world: World
) -> None:
    from tests.factories import TEST_PASSWORD

    rid = referral_in(client, world, "sent")
    token = client.post(
        f"{API}/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": world.partner.api_client.client_id,
            "client_secret": TEST_PASSWORD,
        },
    )
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert [i["id"] for i in client.get(f"{API}/referrals", headers=headers).json()["items"]] == [
        rid
    ]
    accepted = client.post(f"{API}/referrals/{rid}/accept", headers=headers)
    assert accepted.status_code == 200
    done = client.post(f"{API}/referrals/{rid}/complete", json={"outcome": "ok"}, headers=headers)
    assert done.json()["status"] == "completed"


def test_approving_needs_the_case_still_open(client: TestClient, world: World, db: Session) -> None:
    from models.cases import Case

    rid = propose(client, world)["id"]
    case = db.get(Case, world.case_id)
    assert case is not None
    case.status = "closed"
    db.flush()
    assert act(client, world, rid, "approve", "supervisor").status_code == 409
    # Cancelling stays possible.
    assert act(client, world, rid, "cancel", "supervisor", {"reason": "closed"}).status_code == 200
