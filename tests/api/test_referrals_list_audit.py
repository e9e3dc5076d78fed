"""Listing referrals is one audit event per request (`referral.list`), not one per referral.

The one event still says what was served: every referral of the page, of which case, with the
names of the fields served and the kind of view (`detail.served`), all covered by the chain's
hash; each listed case's access log finds it (`audit_event_cases`) and shows only the entries
of its own referrals. A list counts towards no bulk-read alert.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from models.access import ReadTrack
from models.audit import AuditEvent, AuditEventCase
from services.runtime import Runtime
from tests.databases import is_postgres
from tests.factories import API, World
from tests.referrals_support import drive, make_case, referral_body

PARTNER_LIVE_FIELDS = ["case.child.given_name", "case.location.district", "reason"]
"""What the partner is served of a live referral sharing `referral_body`'s default fields."""


def _count(db: Session, model: type[Any]) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def _refer(
    client: TestClient, world: World, case_id: uuid.UUID, state: str, **overrides: Any
) -> str:
    created = client.post(
        f"{API}/cases/{case_id}/referrals",
        json=referral_body(world.partner_agency.id, **overrides),
        headers=world.h["caseworker"],
    )
    assert created.status_code == 201, created.text
    referral_id: str = created.json()["id"]
    drive(client, world, referral_id, state)
    return referral_id


def _second_case(db: Session, runtime: Runtime, world: World) -> uuid.UUID:
    assert world.owner.user is not None
    case_id = make_case(db, runtime.keyring, runtime.settings, world.owner.user)
    db.commit()
    return case_id


def _last(db: Session, action: str) -> AuditEvent:
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc())
    ).first()
    assert event is not None, action
    return event


def _list_once(
    client: TestClient, db: Session, url: str, headers: dict[str, str]
) -> tuple[list[dict[str, Any]], AuditEvent]:
    """List, checking that exactly one audit event was appended; the items and that event."""
    before = _count(db, AuditEvent)
    head = db.scalar(select(func.max(AuditEvent.seq))) or 0
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    assert _count(db, AuditEvent) == before + 1
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.seq > head)).all()
    assert event.action == "referral.list"
    items: list[dict[str, Any]] = answer.json()["items"]
    return items, event


def test_a_partner_list_of_n_referrals_is_one_event_naming_each_with_its_fields_and_view(
    client: TestClient, world: World, db: Session, runtime: Runtime
) -> None:
    other_case = _second_case(db, runtime, world)
    live = _refer(client, world, world.case_id, "sent")
    narrative = _refer(client, world, other_case, "accepted", shared_fields=["narrative"])
    done = _refer(client, world, world.case_id, "completed")
    _refer(client, world, world.case_id, "pending_approval")  # never the partner's to see
    tracked = _count(db, ReadTrack)

    items, event = _list_once(client, db, f"{API}/referrals", world.h["partner"])

    assert {item["id"] for item in items} == {live, narrative, done}
    assert event.actor_id == world.partner.id and event.actor_type == "client"
    assert event.case_id is None and event.fields is None
    detail = json.loads(event.detail or "{}")
    assert detail["count"] == 3
    served = {entry["id"]: entry for entry in detail["served"]}
    assert [entry["id"] for entry in detail["served"]] == [item["id"] for item in items]
    assert served[live] == {
        "id": live,
        "case_id": str(world.case_id),
        "view": "partner",
        "status": "sent",
        "fields": PARTNER_LIVE_FIELDS,
    }
    assert served[narrative] == {
        "id": narrative,
        "case_id": str(other_case),
        "view": "partner",
        "status": "accepted",
        "fields": ["case.narrative", "reason"],
    }
    # Once the work is done the partner sees no case field, only its outcome.
    assert served[done] == {
        "id": done,
        "case_id": str(world.case_id),
        "view": "partner",
        "status": "completed",
        "fields": ["outcome"],
    }
    # Every case listed once, in `detail.case_ids` and in the access-log index.
    assert sorted(detail["case_ids"]) == sorted({str(world.case_id), str(other_case)})
    indexed = db.scalars(select(AuditEventCase.case_id).where(AuditEventCase.seq == event.seq))
    assert sorted(indexed) == sorted({world.case_id, other_case})
    # A list serves what a read serves, but is not a read and counts towards no bulk-read alert.
    assert _count(db, ReadTrack) == tracked
    assert client.get(f"{API}/referrals/{done}", headers=world.h["partner"]).status_code == 200
    read = _last(db, "referral.read")
    assert json.loads(read.fields or "[]") == served[done]["fields"]
    assert json.loads(read.detail or "{}") == {"status": "completed", "view": "partner"}


@pytest.mark.parametrize("route", ["agency", "case"])
def test_a_staff_list_is_one_event_naming_each_referral_in_the_staff_view(
    client: TestClient, world: World, db: Session, route: str
) -> None:
    referrals = [
        _refer(client, world, world.case_id, "pending_approval"),
        _refer(client, world, world.case_id, "sent", shared_fields=["caregivers"]),
    ]
    url = f"{API}/referrals" if route == "agency" else f"{API}/cases/{world.case_id}/referrals"

    items, event = _list_once(client, db, url, world.h["caseworker"])

    assert sorted(item["id"] for item in items) == sorted(referrals)
    assert event.case_id == (world.case_id if route == "case" else None)
    detail = json.loads(event.detail or "{}")
    assert detail["case_ids"] == [str(world.case_id)]
    by_id = {entry["id"]: entry for entry in detail["served"]}
    assert by_id.keys() == set(referrals)
    assert by_id[referrals[0]]["fields"] == [
        "case.child.given_name",
        "case.location.district",
        "consent.note",
        "reason",
    ]
    assert by_id[referrals[1]]["fields"] == ["case.caregivers", "consent.note", "reason"]
    assert {entry["view"] for entry in by_id.values()} == {"staff"}
    assert [by_id[r]["status"] for r in referrals] == ["pending_approval", "sent"]
    # Not one `referral.read` per listed referral any more.
    reads = db.scalars(
        select(AuditEvent.seq).where(
            AuditEvent.action == "referral.read", AuditEvent.request_id == event.request_id
        )
    ).all()
    assert reads == []


def test_an_empty_list_is_one_event_naming_nothing(
    client: TestClient, world: World, db: Session
) -> None:
    items, event = _list_once(client, db, f"{API}/referrals", world.h["partner"])
    assert items == []
    assert json.loads(event.detail or "{}") == {
        "count": 0,
        "overdue": None,
        "service_type": None,
        "status": None,
    }


def test_a_partner_list_shows_in_each_case_access_log_with_only_that_case_referrals(
    client: TestClient, world: World, db: Session, runtime: Runtime
) -> None:
    other_case = _second_case(db, runtime, world)
    mine = _refer(client, world, world.case_id, "sent")
    theirs = _refer(client, world, other_case, "sent", shared_fields=["narrative"])
    _items, event = _list_once(client, db, f"{API}/referrals", world.h["partner"])

    def listed_in_log(case_id: uuid.UUID) -> dict[str, Any]:
        log = client.get(f"{API}/cases/{case_id}/access-log", headers=world.h["supervisor"])
        assert log.status_code == 200, log.text
        found: list[dict[str, Any]] = [i for i in log.json()["items"] if i["seq"] == event.seq]
        assert len(found) == 1
        return found[0]

    shown = listed_in_log(world.case_id)
    assert shown["action"] == "referral.list"
    assert shown["actor"]["type"] == "client" and shown["actor"]["id"] == str(world.partner.id)
    assert shown["actor"]["scopes"] == ["referrals:read", "referrals:respond"]
    # The case's own referral, with what the partner saw of it; nothing of the other case.
    assert shown["detail"]["served"] == [
        {
            "id": mine,
            "case_id": str(world.case_id),
            "view": "partner",
            "status": "sent",
            "fields": PARTNER_LIVE_FIELDS,
        }
    ]
    assert "case_ids" not in shown["detail"]
    assert str(other_case) not in json.dumps(shown) and theirs not in json.dumps(shown)
    other = listed_in_log(other_case)
    assert [entry["id"] for entry in other["detail"]["served"]] == [theirs]
    # The auditor sees the one event whole.
    [whole] = [
        i
        for i in client.get(
            f"{API}/audit/events",
            params={"action": "referral.list", "actor_id": str(world.partner.id)},
            headers=world.h["auditor"],
        ).json()["items"]
        if i["seq"] == event.seq
    ]
    assert {entry["id"] for entry in whole["detail"]["served"]} == {mine, theirs}


def test_the_chain_verifies_and_covers_what_a_list_served(
    client: TestClient, world: World, db: Session
) -> None:
    _refer(client, world, world.case_id, "sent")
    _refer(client, world, world.case_id, "sent", shared_fields=["narrative"])
    _items, event = _list_once(client, db, f"{API}/referrals", world.h["partner"])
    verified = client.get(f"{API}/audit/verify", headers=world.h["auditor"])
    assert verified.status_code == 200, verified.text
    assert verified.json()["valid"] is True
    assert verified.json()["events_checked"] >= event.seq

    # A DBA who hides which fields the partner saw breaks the chain at that event.
    detail = json.loads(event.detail or "{}")
    detail["served"][0]["fields"] = ["reason"]
    savepoint = db.begin_nested()
    if is_postgres():
        db.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        db.execute(text("DROP TRIGGER audit_events_no_update"))
    db.execute(
        update(AuditEvent)
        .where(AuditEvent.seq == event.seq)
        .values(detail=json.dumps(detail, sort_keys=True, ensure_ascii=True))
    )
    tampered = client.get(f"{API}/audit/verify", headers=world.h["auditor"]).json()
    savepoint.rollback()
    assert tampered["valid"] is False
    assert tampered["first_invalid_seq"] == event.seq
