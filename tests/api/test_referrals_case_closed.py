"""Closing a case ends every partner's access to it.

A supervisor's closure cancels the case's live referrals in the same transaction (reason
`case_closed`, recorded and audited like any cancel); and, as defence in depth, a partner never
reads case fields of, nor acts on, a referral whose case is not open, however it got there.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from models.cases import Case
from models.referrals import Referral
from tests.casework_support import CLOSE_BODY, walk_http
from tests.factories import API, World
from tests.referrals_support import ALL_MARKERS, REASON, act, referral_in

LIVE = ("pending_approval", "sent", "accepted", "in_progress")
FINAL = ("rejected", "declined", "completed", "cancelled")


def _to_closure(client: TestClient, world: World) -> None:
    walk_http(client, world.h["caseworker"], world.h["supervisor"], str(world.case_id))


def _close(client: TestClient, world: World, **headers: str) -> Any:
    return client.post(
        f"{API}/cases/{world.case_id}/close",
        json=CLOSE_BODY,
        headers={**world.h["supervisor"], **headers},
    )


def _row(db: Session, rid: str) -> Referral:
    row = db.scalars(
        select(Referral)
        .where(Referral.id == uuid.UUID(rid))
        .execution_options(populate_existing=True)
    ).one()
    return row


def _no_marker(payload: Any) -> None:
    text = str(payload)
    leaked = [marker for marker in [*ALL_MARKERS, REASON] if marker in text]
    assert leaked == [], f"case data reached the partner: {leaked}"


def test_closing_a_case_cancels_its_live_referrals_and_records_it(
    client: TestClient, world: World, db: Session
) -> None:
    ids = {state: referral_in(client, world, state) for state in LIVE + FINAL}
    before = {state: _row(db, rid).version for state, rid in ids.items()}
    _to_closure(client, world)

    closed = _close(client, world)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"

    for state in LIVE:
        row = _row(db, ids[state])
        assert row.status == "cancelled", state
        assert row.cancelled_by == world.supervisor.id
        assert row.cancelled_at is not None
        assert row.consent_withdrawn_at is None
        assert row.version == before[state] + 1
        staff = client.get(f"{API}/referrals/{ids[state]}", headers=world.h["supervisor"]).json()
        assert staff["status"] == "cancelled"
        assert staff["cancel_reason"] == "case_closed"
        assert staff["cancelled_by"] == str(world.supervisor.id)
        assert staff["allowed_actions"] == []
    for state in FINAL:
        row = _row(db, ids[state])
        assert row.status == state, "a finished referral is left as it was"
        assert row.version == before[state]

    # One `referral.cancel` per live referral, by the supervisor, in the case's history, naming
    # the closure; and the closure's own event lists them. Names and ids only, no values.
    cancels = list(
        db.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action == "referral.cancel",
                AuditEvent.case_id == world.case_id,
                AuditEvent.outcome == "success",
            )
            .order_by(AuditEvent.seq)
        )
    )
    by_closure = [e for e in cancels if '"via": "case.close"' in (e.detail or "")]
    assert sorted(e.resource_id or "" for e in by_closure) == sorted(ids[s] for s in LIVE)
    for event in by_closure:
        assert event.actor_id == world.supervisor.id
        assert event.fields is not None and "cancel_reason" in event.fields
        assert "case_closed" not in (event.detail or "")
    [close_event] = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "case.close", AuditEvent.case_id == world.case_id
        )
    )
    assert close_event.detail is not None
    for state in LIVE:
        assert ids[state] in close_event.detail
    assert max(e.seq for e in by_closure) < close_event.seq


def test_the_partner_loses_the_case_fields_the_moment_the_case_closes(
    client: TestClient, world: World
) -> None:
    rid = referral_in(client, world, "in_progress")
    live = client.get(f"{API}/referrals/{rid}", headers=world.h["partner"]).json()
    assert live["case"] == {"child.given_name": "MKgiven", "location.district": "MKdistrict"}
    _to_closure(client, world)
    assert _close(client, world).status_code == 200

    read = client.get(f"{API}/referrals/{rid}", headers=world.h["partner"])
    assert read.status_code == 200
    body = read.json()
    assert body["status"] == "cancelled"
    assert body["case"] is None
    assert body["reason"] is None
    assert body["allowed_actions"] == []
    _no_marker(body["case"])
    _no_marker(body["reason"])
    listed = client.get(f"{API}/referrals", headers=world.h["partner"]).json()["items"]
    [item] = [i for i in listed if i["id"] == rid]
    assert item["case"] is None and item["reason"] is None

    for action, payload in (
        ("updates", {"note": "still working"}),
        ("complete", {"outcome": "done"}),
    ):
        refused = act(client, world, rid, action, "partner", payload)
        assert refused.status_code == 409, refused.text


def test_a_failed_closure_cancels_nothing(client: TestClient, world: World, db: Session) -> None:
    rid = referral_in(client, world, "accepted")
    _to_closure(client, world)
    stale = _close(client, world, **{"If-Match": '"1"'})
    assert stale.status_code == 412
    assert _row(db, rid).status == "accepted"
    partner = client.get(f"{API}/referrals/{rid}", headers=world.h["partner"]).json()
    assert partner["case"] is not None


def test_reopening_does_not_revive_the_cancelled_referrals(
    client: TestClient, world: World, db: Session
) -> None:
    rid = referral_in(client, world, "sent")
    _to_closure(client, world)
    assert _close(client, world).status_code == 200
    reopened = client.post(f"{API}/cases/{world.case_id}/reopen", headers=world.h["supervisor"])
    assert reopened.status_code == 200, reopened.text
    assert _row(db, rid).status == "cancelled"
    body = client.get(f"{API}/referrals/{rid}", headers=world.h["partner"]).json()
    assert body["case"] is None
    assert act(client, world, rid, "accept", "partner").status_code == 409


@pytest.mark.parametrize("state", ["sent", "accepted", "in_progress"])
def test_a_live_referral_of_a_closed_case_serves_no_field_and_takes_no_partner_action(
    client: TestClient, world: World, db: Session, state: str
) -> None:
    """Defence in depth: a referral left live on a closed case (data from before the fix, or
    any future path that closes a case another way) still gives the partner nothing."""
    rid = referral_in(client, world, state)
    db.execute(update(Case).where(Case.id == world.case_id).values(status="closed"))
    db.flush()

    body = client.get(f"{API}/referrals/{rid}", headers=world.h["partner"]).json()
    assert body["status"] == state
    assert body["case"] is None
    assert body["reason"] is None
    assert body["allowed_actions"] == []
    _no_marker(body)
    listed = client.get(f"{API}/referrals", headers=world.h["partner"]).json()["items"]
    _no_marker(listed)

    version = _row(db, rid).version
    options: dict[str, list[tuple[str, dict[str, str] | None]]] = {
        "sent": [("accept", None), ("decline", {"reason": "no"})],
        "accepted": [("updates", {"note": "n"}), ("complete", {"outcome": "o"})],
        "in_progress": [("updates", {"note": "n"}), ("complete", {"outcome": "o"})],
    }
    attempts = options[state]
    for action, payload in attempts:
        refused = act(client, world, rid, action, "partner", payload)
        assert refused.status_code == 409, (action, refused.text)
        _no_marker(refused.json())
    row = _row(db, rid)
    assert (row.status, row.version) == (state, version), "nothing changed"

    # Staff may still clean it up; approving on a closed case stays refused.
    staff = client.get(f"{API}/referrals/{rid}", headers=world.h["supervisor"]).json()
    assert staff["allowed_actions"] == ["referral.cancel"]
    cancelled = act(client, world, rid, "cancel", "supervisor", {"reason": "tidy up"})
    assert cancelled.status_code == 200, cancelled.text


def test_a_pending_referral_of_a_closed_case_offers_no_approval(
    client: TestClient, world: World, db: Session
) -> None:
    rid = referral_in(client, world, "pending_approval")
    db.execute(update(Case).where(Case.id == world.case_id).values(status="closed"))
    db.flush()
    staff = client.get(f"{API}/referrals/{rid}", headers=world.h["supervisor"]).json()
    assert staff["allowed_actions"] == ["referral.cancel", "referral.reject"]
    assert act(client, world, rid, "approve", "supervisor").status_code == 409
