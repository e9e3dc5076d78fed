"""Refusals that are not about access (409, 412, 422, 428, 429) and server errors (500) leave an
audit event of their own, written after the request's rollback so the rollback cannot erase it,
under the route's action with the outcome and the status; a refusal the request recorded itself
(a throttled login) is not recorded twice."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from services.audit import queries
from services.config import Settings
from services.policy import Role
from tests.factories import API, World, make_agency, make_user
from tests.referrals_support import act, propose, referral_in


def _new_events(db: Session, after: int) -> list[AuditEvent]:
    db.expire_all()
    return list(
        db.scalars(select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq))
    )


def _head(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) or 0)


def _detail(event: AuditEvent) -> dict[str, Any]:
    return dict(json.loads(event.detail or "{}"))


def _only_refusal(db: Session, after: int, status: int) -> AuditEvent:
    """The one event the refused request left: a refusal with this status."""
    [event] = _new_events(db, after)
    assert event.outcome == "denied"
    assert _detail(event)["status"] == status
    return event


def _case_url(world: World) -> str:
    return f"{API}/cases/{world.case_id}"


def test_a_missing_if_match_is_audited_as_428(
    client: TestClient, world: World, db: Session
) -> None:
    before = _head(db)
    answer = client.patch(_case_url(world), json={"narrative": "x"}, headers=world.h["caseworker"])
    assert answer.status_code == 428
    event = _only_refusal(db, before, 428)
    assert (event.action, event.actor_id) == ("case.update", world.owner.id)
    assert _detail(event)["method"] == "PATCH"
    assert _detail(event)["route"] == "/cases/{case_id}"


def test_a_stale_if_match_is_audited_as_412(client: TestClient, world: World, db: Session) -> None:
    before = _head(db)
    answer = client.patch(
        _case_url(world),
        json={"narrative": "x"},
        headers={**world.h["caseworker"], "If-Match": '"7"'},
    )
    assert answer.status_code == 412
    event = _only_refusal(db, before, 412)
    assert (event.action, event.actor_id) == ("case.update", world.owner.id)


def test_an_illegal_referral_move_is_audited_as_409(
    client: TestClient, world: World, db: Session
) -> None:
    rid = referral_in(client, world, "sent")
    before = _head(db)
    assert act(client, world, rid, "approve", "supervisor").status_code == 409  # sent already
    event = _only_refusal(db, before, 409)
    assert (event.action, event.actor_id) == ("referral.approve", world.supervisor.id)


def test_a_stale_if_match_on_a_referral_action_is_audited(
    client: TestClient, world: World, db: Session
) -> None:
    rid = propose(client, world)["id"]
    before = _head(db)
    stale = {**world.h["supervisor"], "If-Match": '"7"'}
    status = client.post(f"{API}/referrals/{rid}/approve", headers=stale).status_code
    assert status in (409, 412)
    assert _only_refusal(db, before, status).action == "referral.approve"


def test_a_domain_validation_refusal_is_audited_as_422(
    client: TestClient, world: World, db: Session
) -> None:
    before = _head(db)
    answer = client.get(
        f"{API}/cases", params={"date_of_birth": "2015-01-01"}, headers=world.h["caseworker"]
    )
    assert answer.status_code == 422
    event = _only_refusal(db, before, 422)
    assert (event.action, event.actor_id) == ("case.list", world.owner.id)


def test_a_request_validation_refusal_is_audited_as_422(
    client: TestClient, world: World, db: Session
) -> None:
    before = _head(db)
    answer = client.get(
        f"{API}/referrals", params={"status": "nonsense"}, headers=world.h["supervisor"]
    )
    assert answer.status_code == 422
    event = _only_refusal(db, before, 422)
    assert (event.action, event.actor_id) == ("referral.list", world.supervisor.id)
    # A malformed body too, and nothing of the request's value reaches the log.
    before = _head(db)
    answer = client.post(
        f"{API}/cases", json={"MKchild name": "MKvalue"}, headers=world.h["caseworker"]
    )
    assert answer.status_code == 422
    event = _only_refusal(db, before, 422)
    assert event.action == "case.create"
    assert "MK" not in (event.detail or "") + (event.fields or "")


def test_a_throttled_login_is_audited_once_as_429(
    client: TestClient, db: Session, settings: Settings
) -> None:
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    db.commit()
    for _ in range(settings.login_max_failures_per_account):
        wrong = {"username": "amal", "password": "wrong passphrase!!"}
        assert client.post(f"{API}/auth/login", json=wrong).status_code == 401
    before = _head(db)
    throttled = client.post(f"{API}/auth/login", json={"username": "amal", "password": "x" * 12})
    assert throttled.status_code == 429
    [event] = _new_events(db, before)  # the login's own event; the mapper adds none
    assert (event.action, event.outcome) == ("auth.login_throttled", "denied")


def test_a_server_error_is_audited_with_outcome_error(
    client_answering_500: TestClient,
    world: World,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(queries, "list_events", broken)
    before = _head(db)
    answer = client_answering_500.get(f"{API}/audit/events", headers=world.h["auditor"])
    assert answer.status_code == 500
    [event] = _new_events(db, before)
    assert (event.action, event.outcome) == ("audit.read", "error")
    assert (event.actor_type, event.actor_role) == ("user", "auditor")
    assert _detail(event) == {"status": 500, "method": "GET", "route": "/audit/events"}
    assert event.request_id == answer.headers["X-Request-ID"]
