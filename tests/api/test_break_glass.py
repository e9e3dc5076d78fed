"""Break-glass through HTTP: a supervisor not on a restricted case's list states why and reads
it for 60 minutes (then 404 again); every use is audited and listed for review, by an auditor
or another supervisor, never its own user; unreviewed uses past the review window are overdue."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.access import BreakGlassUse
from models.audit import AuditEvent
from models.base import utcnow
from services.config import Settings
from services.jobs.sweeps import overdue_sweep
from services.policy import Role
from services.runtime import Runtime
from tests.api.test_cases_helpers import Actor, World, body, create, world
from tests.factories import API, make_user, user_headers

__all__ = ["world"]

REASON = "Child reported missing from the shelter tonight"


@pytest.fixture
def second_supervisor(db: Session, settings: Settings, world: World) -> Actor:
    user = make_user(db, world.agency, Role.SUPERVISOR)
    return Actor(user, user_headers(db, user, settings))


def _restricted(client: TestClient, world: World) -> dict[str, Any]:
    case = create(client, world.owner, body("Glass", "Child", restricted=True))
    note = client.post(
        f"{API}/cases/{case['id']}/notes", json={"text": "Seen."}, headers=world.owner.headers
    )
    assert note.status_code == 201
    return case


def _break(client: TestClient, actor: Actor, case_id: str, reason: str = REASON) -> Any:
    return client.post(
        f"{API}/cases/{case_id}/break-glass", json={"reason": reason}, headers=actor.headers
    )


def _uses(client: TestClient, actor: Actor, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{API}/break-glass", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_breaking_the_glass_opens_the_case_for_an_hour(
    client: TestClient, db: Session, world: World
) -> None:
    case = _restricted(client, world)
    url = f"{API}/cases/{case['id']}"
    assert client.get(url, headers=world.supervisor.headers).status_code == 404
    before = utcnow()
    broken = _break(client, world.supervisor, case["id"])
    assert broken.status_code == 200, broken.text
    data = broken.json()
    assert data["id"] == case["id"] and data["child"]["given_name"] == "Glass"
    assert broken.headers["ETag"] == f'"{data["version"]}"'
    glass = data["break_glass"]
    expires = datetime.fromisoformat(glass["expires_at"])
    assert timedelta(minutes=59) < expires - before <= timedelta(minutes=61)
    assert glass["active"] is True and glass["reason"] == REASON
    assert glass["user_id"] == str(world.supervisor.id) and glass["reviewed_at"] is None
    for path in ("", "/notes", "/timeline", "/access-log"):
        assert client.get(f"{url}{path}", headers=world.supervisor.headers).status_code == 200

    db.expire_all()
    events = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "case.break_glass", AuditEvent.case_id == uuid.UUID(case["id"])
        )
    ).all()
    assert [e.actor_id for e in events] == [world.supervisor.id]
    assert REASON not in (events[0].detail or "")
    # The reason is sealed at rest.
    stored = db.scalars(select(BreakGlassUse.reason_sealed)).all()
    assert stored and all(REASON.encode() not in blob for blob in stored)

    # Access ends at expiry: every read is 404 again.
    db.execute(
        update(BreakGlassUse)
        .where(BreakGlassUse.id == uuid.UUID(glass["id"]))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.flush()
    for path in ("", "/notes", "/timeline"):
        assert client.get(f"{url}{path}", headers=world.supervisor.headers).status_code == 404
    listed = _uses(client, world.supervisor)
    assert [(u["id"], u["active"]) for u in listed] == [(glass["id"], False)]


def test_who_may_break_the_glass_and_when(
    client: TestClient, world: World, second_supervisor: Actor
) -> None:
    case = _restricted(client, world)
    open_case = create(client, world.owner, body("Open", "Child"))
    assert _break(client, world.supervisor, open_case["id"]).status_code == 409
    assert _break(client, world.owner, case["id"]).status_code == 403
    assert _break(client, world.colleague, case["id"]).status_code == 403
    assert _break(client, world.auditor, case["id"]).status_code == 403
    assert _break(client, world.partner, case["id"]).status_code == 403
    assert _break(client, world.other_supervisor, case["id"]).status_code == 404
    assert _break(client, world.supervisor, str(uuid.uuid4())).status_code == 404
    listed = client.post(
        f"{API}/cases/{case['id']}/access-list",
        json={"user_id": str(second_supervisor.id)},
        headers=world.owner.headers,
    )
    assert listed.status_code == 201
    assert _break(client, second_supervisor, case["id"]).status_code == 409
    assert _break(client, world.supervisor, case["id"]).status_code == 200
    again = _break(client, world.supervisor, case["id"])
    assert again.status_code == 409  # the first access still runs
    bad = client.post(
        f"{API}/cases/{case['id']}/break-glass",
        json={"reason": " ", "why": "x"},
        headers=world.supervisor.headers,
    )
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["errors"]} == {("body", "reason"), ("body", "why")}
    assert _uses(client, world.supervisor) and len(_uses(client, world.supervisor)) == 1


def test_uses_are_listed_reviewed_by_someone_else_and_overdue_when_left(
    client: TestClient, db: Session, settings: Settings, world: World, second_supervisor: Actor
) -> None:
    first = _restricted(client, world)
    second = _restricted(client, world)
    one = _break(client, world.supervisor, first["id"]).json()["break_glass"]
    two = _break(client, second_supervisor, second["id"]).json()["break_glass"]

    assert {u["id"] for u in _uses(client, world.supervisor)} == {one["id"], two["id"]}
    assert {u["id"] for u in _uses(client, world.auditor)} >= {one["id"], two["id"]}
    assert _uses(client, world.other_supervisor) == []
    for actor in (world.owner, world.agency_admin, world.system_admin, world.partner):
        assert client.get(f"{API}/break-glass", headers=actor.headers).status_code == 403

    # Nothing is overdue yet; move the first use back past the review window.
    assert _uses(client, world.supervisor, overdue="true") == []
    db.execute(
        update(BreakGlassUse)
        .where(BreakGlassUse.id == uuid.UUID(one["id"]))
        .values(used_at=utcnow() - timedelta(hours=settings.break_glass_review_hours, minutes=1))
    )
    db.flush()
    overdue = _uses(client, world.supervisor, overdue="true")
    assert [(u["id"], u["overdue"]) for u in overdue] == [(one["id"], True)]
    assert [u["id"] for u in _uses(client, world.supervisor, overdue="false")] == [two["id"]]

    review = f"{API}/break-glass/{one['id']}/review"
    own = client.post(review, json={"note": "Fine."}, headers=world.supervisor.headers)
    assert own.status_code == 403
    elsewhere = client.post(review, json={"note": "Fine."}, headers=world.other_supervisor.headers)
    assert elsewhere.status_code == 404
    done = client.post(
        review, json={"note": "Justified: owner away."}, headers=second_supervisor.headers
    )
    assert done.status_code == 200, done.text
    reviewed = done.json()
    assert reviewed["reviewed_by"] == str(second_supervisor.id)
    assert reviewed["review_note"] == "Justified: owner away." and reviewed["overdue"] is False
    twice = client.post(review, json={"note": "Again."}, headers=world.auditor.headers)
    assert twice.status_code == 409
    by_auditor = client.post(
        f"{API}/break-glass/{two['id']}/review",
        json={"note": "Seen."},
        headers=world.auditor.headers,
    )
    assert by_auditor.status_code == 200
    assert _uses(client, world.supervisor, reviewed="false") == []
    assert _uses(client, world.supervisor, overdue="true") == []
    missing = client.post(
        f"{API}/break-glass/{uuid.uuid4()}/review",
        json={"note": "x"},
        headers=world.auditor.headers,
    )
    assert missing.status_code == 404
    empty = client.post(
        f"{API}/break-glass/{two['id']}/review", json={}, headers=world.auditor.headers
    )
    assert empty.status_code == 422 and empty.json()["errors"][0]["loc"] == ["body", "note"]

    db.expire_all()
    reviews = db.scalars(
        select(AuditEvent.actor_id).where(AuditEvent.action == "break_glass.review")
    ).all()
    assert set(reviews) >= {second_supervisor.id, world.auditor.id}


def test_the_overdue_sweep_counts_unreviewed_uses(
    client: TestClient, db: Session, runtime: Runtime, world: World
) -> None:
    case = _restricted(client, world)
    glass = _break(client, world.supervisor, case["id"]).json()["break_glass"]
    assert "0 overdue break-glass review(s)" in overdue_sweep(runtime)
    db.execute(
        update(BreakGlassUse)
        .where(BreakGlassUse.id == uuid.UUID(glass["id"]))
        .values(used_at=utcnow() - timedelta(hours=runtime.settings.break_glass_review_hours + 1))
    )
    db.flush()
    assert "1 overdue break-glass review(s)" in overdue_sweep(runtime)
