"""Bulk-read alerts through HTTP: a supervisor opening more distinct cases it does not own than
the limit within an hour, or a partner client opening too many referrals, raises one alert per
hour (listed for the agency's supervisors and every auditor, and audited); with suspension on,
the reader is refused everywhere until another supervisor clears the alert.

The limits are lowered here (3 cases, 2 referrals) and suspension switched on."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.access import Alert, ReadTrack
from models.audit import AuditEvent
from models.base import utcnow
from models.identity import Agency
from services.alerts.enums import SubjectType
from services.alerts.service import check_not_suspended, note_read
from services.config import Settings
from services.errors import Forbidden
from services.jobs.purge import purge_read_tracks
from services.policy import Role
from services.runtime import Runtime
from tests.api.test_cases_helpers import Actor, World, body, create, world
from tests.factories import API, make_user, principal_of, user_headers

__all__ = ["world"]

CASE_LIMIT = 3
CLIENT_LIMIT = 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "bulk_read_limit": CASE_LIMIT,
            "bulk_read_client_limit": CLIENT_LIMIT,
            "bulk_read_suspend": True,
        }
    )


@pytest.fixture
def second_supervisor(db: Session, settings: Settings, world: World) -> Actor:
    user = make_user(db, world.agency, Role.SUPERVISOR)
    return Actor(user, user_headers(db, user, settings))


def _alerts(client: TestClient, actor: Actor, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{API}/alerts", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _open(client: TestClient, actor: Actor, case: dict[str, Any]) -> int:
    status: int = client.get(f"{API}/cases/{case['id']}", headers=actor.headers).status_code
    return status


def test_reading_many_cases_raises_one_alert_and_suspends_until_cleared(
    client: TestClient, db: Session, world: World, second_supervisor: Actor
) -> None:
    cases = [create(client, world.owner, body(f"Child{n}", "Bulk")) for n in range(CASE_LIMIT + 2)]
    # The owner opening its own cases never counts.
    for case in cases:
        assert _open(client, world.owner, case) == 200
    # Re-opening one case counts once.
    for case in (*cases[:CASE_LIMIT], cases[0], cases[1]):
        assert _open(client, world.supervisor, case) == 200
    assert _alerts(client, second_supervisor) == []

    assert _open(client, world.supervisor, cases[CASE_LIMIT]) == 200  # one past the limit
    raised = _alerts(client, second_supervisor)
    assert len(raised) == 1
    alert = raised[0]
    assert alert["kind"] == "bulk_read" and alert["actor_type"] == "user"
    assert alert["actor_id"] == str(world.supervisor.id)
    assert alert["distinct_reads"] == CASE_LIMIT + 1 and alert["read_limit"] == CASE_LIMIT
    assert alert["suspends"] is True and alert["cleared_at"] is None
    assert [a["id"] for a in _alerts(client, world.auditor)] == [alert["id"]]
    assert _alerts(client, world.other_supervisor) == []

    # Suspended: every request of the reader is refused, and the refusal is audited.
    assert _open(client, world.supervisor, cases[0]) == 403
    me = client.get(f"{API}/auth/me", headers=world.supervisor.headers)
    assert me.status_code == 403 and me.headers["content-type"] == "application/problem+json"

    db.expire_all()
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "alert.bulk_read")).all()
    assert [(e.actor_id, e.resource_id) for e in events] == [(world.supervisor.id, alert["id"])]

    # Cleared by another supervisor of the agency: the reader works again.
    clear = f"{API}/alerts/{alert['id']}/clear"
    assert (
        client.post(clear, json={"note": "x"}, headers=world.other_supervisor.headers).status_code
        == 404
    )
    assert client.post(clear, json={"note": "x"}, headers=world.owner.headers).status_code == 403
    bad = client.post(clear, json={"note": "", "x": 1}, headers=second_supervisor.headers)
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["errors"]} == {("body", "note"), ("body", "x")}
    done = client.post(
        clear, json={"note": "Flood response cover."}, headers=second_supervisor.headers
    )
    assert done.status_code == 200, done.text
    assert done.json()["cleared_by"] == str(second_supervisor.id)
    assert done.json()["clear_note"] == "Flood response cover."
    assert (
        client.post(clear, json={"note": "again"}, headers=second_supervisor.headers).status_code
        == 409
    )
    assert _open(client, world.supervisor, cases[0]) == 200
    assert _alerts(client, second_supervisor, cleared="false") == []
    # The note is sealed at rest.
    stored = db.scalar(select(Alert.clear_note_sealed).where(Alert.id == uuid.UUID(alert["id"])))
    assert stored is not None and b"Flood" not in stored

    # Reading on within the same hour raises no second alert.
    assert _open(client, world.supervisor, cases[CASE_LIMIT + 1]) == 200
    assert len(_alerts(client, second_supervisor)) == 1
    # An hour later the window has moved: the reads then count afresh.
    db.execute(update(Alert).values(raised_at=utcnow() - timedelta(hours=2)))
    db.execute(update(ReadTrack).values(read_at=utcnow() - timedelta(hours=2)))
    db.flush()
    for case in cases[: CASE_LIMIT + 1]:
        assert _open(client, world.supervisor, case) == 200
    assert len(_alerts(client, second_supervisor, cleared="false")) == 1


def test_the_reader_cannot_clear_its_own_alert(
    client: TestClient, db: Session, world: World, second_supervisor: Actor
) -> None:
    alert = Alert(
        id=uuid.uuid4(),
        kind="bulk_read",
        actor_type="user",
        actor_id=second_supervisor.id,
        agency_id=world.agency.id,
        raised_at=utcnow(),
        distinct_reads=4,
        read_limit=3,
        suspends=False,
    )
    db.add(alert)
    db.flush()
    own = client.post(
        f"{API}/alerts/{alert.id}/clear", json={"note": "Me."}, headers=second_supervisor.headers
    )
    assert own.status_code == 403
    assert client.get(f"{API}/cases", headers=second_supervisor.headers).status_code == 200
    # An agency may have no other supervisor: an auditor clears it, and that is recorded.
    cleared = client.post(
        f"{API}/alerts/{alert.id}/clear",
        json={"note": "Spoke with the supervisor; reading for the quarterly review."},
        headers=world.auditor.headers,
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["cleared_by"] == str(world.auditor.id)
    again = client.post(
        f"{API}/alerts/{alert.id}/clear", json={"note": "Twice."}, headers=world.auditor.headers
    )
    assert again.status_code == 409


def _sent_referral(client: TestClient, world: World, partner_agency: str, n: int) -> str:
    case = create(client, world.owner, body(f"Referred{n}", "Child"))
    referral = client.post(
        f"{API}/cases/{case['id']}/referrals",
        json={
            "to_agency_id": partner_agency,
            "service_type": "medical",
            "urgency": "high",
            "reason": "Check-up.",
            "shared_fields": ["child.given_name"],
            "consent": {"given_by": "caregiver", "obtained_at": "2026-11-01T10:00:00Z"},
        },
        headers=world.owner.headers,
    )
    assert referral.status_code == 201, referral.text
    rid: str = referral.json()["id"]
    approved = client.post(f"{API}/referrals/{rid}/approve", headers=world.supervisor.headers)
    assert approved.status_code == 200
    return rid


def test_a_partner_client_reading_many_referrals_is_alerted_and_suspended(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    me = client.get(f"{API}/auth/me", headers=world.partner.headers).json()
    partner_agency = me["agency_id"]
    referrals = [_sent_referral(client, world, partner_agency, n) for n in range(CLIENT_LIMIT + 1)]
    for rid in referrals:
        response = client.get(f"{API}/referrals/{rid}", headers=world.partner.headers)
        assert response.status_code == 200
    agency = db.get(Agency, uuid.UUID(partner_agency))
    assert agency is not None
    partner_supervisor = make_user(db, agency, Role.SUPERVISOR)
    overseer = Actor(partner_supervisor, user_headers(db, partner_supervisor, settings))
    alerts = _alerts(client, overseer)
    assert [(a["actor_type"], a["distinct_reads"]) for a in alerts] == [
        ("client", CLIENT_LIMIT + 1)
    ]
    assert _alerts(client, world.supervisor) == []
    refused = client.get(f"{API}/referrals", headers=world.partner.headers)
    assert refused.status_code == 403
    cleared = client.post(
        f"{API}/alerts/{alerts[0]['id']}/clear",
        json={"note": "Batch sync."},
        headers=overseer.headers,
    )
    assert cleared.status_code == 200
    assert client.get(f"{API}/referrals", headers=world.partner.headers).status_code == 200


def test_without_suspension_an_alert_only_warns(
    db: Session, settings: Settings, world: World
) -> None:
    warn_only = settings.model_copy(update={"bulk_read_suspend": False})
    assert world.supervisor.user is not None
    reader = principal_of(world.supervisor.user)
    for _ in range(CASE_LIMIT + 1):
        note_read(db, warn_only, reader, SubjectType.CASE, uuid.uuid4())
    alert = db.scalars(select(Alert).where(Alert.actor_id == reader.id)).one()
    assert alert.suspends is False
    check_not_suspended(db, warn_only, reader)
    # Even with suspension switched on later, a warning-only alert suspends nobody.
    check_not_suspended(db, settings, reader)
    alert.suspends = True
    db.flush()
    with pytest.raises(Forbidden):
        check_not_suspended(db, settings, reader)


def test_the_purge_job_drops_reads_older_than_the_window(db: Session, runtime: Runtime) -> None:
    reader = uuid.uuid4()
    old, recent = uuid.uuid4(), uuid.uuid4()
    db.add_all(
        [
            ReadTrack(
                actor_id=reader,
                subject_type="case",
                subject_id=old,
                read_at=utcnow() - timedelta(hours=2),
            ),
            ReadTrack(actor_id=reader, subject_type="case", subject_id=recent, read_at=utcnow()),
        ]
    )
    db.flush()
    assert purge_read_tracks(runtime) == "deleted 1 old read-tracking row(s)"
    db.expire_all()
    assert db.scalars(select(ReadTrack.subject_id)).all() == [recent]
