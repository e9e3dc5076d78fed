"""One case through the whole case-management cycle over HTTP: intake → assessment → plan →
approval → services (one from a partner's referral outcome) → follow-ups → closure with a reason,
with every premature stage move refused by its gate (409, the right `missing` entries), the plan's
versions kept, the due dates following the records, and the timeline telling it newest first.
Runs on whichever database the suite runs on (CI: both)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from models.casework import ServiceDelivery
from services.runtime import Runtime
from tests.casework_support import assessment_body, follow_up_body, plan_body, today
from tests.factories import API, World
from tests.referrals_support import case_body, referral_body


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def _gate(client: TestClient, world: World, case_id: str, to: str, missing: list[str]) -> None:
    before = _ok(client.get(f"{API}/cases/{case_id}", headers=world.h["caseworker"]))
    refused = client.post(
        f"{API}/cases/{case_id}/stage", json={"to": to}, headers=world.h["caseworker"]
    )
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["missing"] == missing
    after = _ok(client.get(f"{API}/cases/{case_id}", headers=world.h["caseworker"]))
    assert (after["stage"], after["version"]) == (before["stage"], before["version"])


def _move(client: TestClient, world: World, case_id: str, to: str) -> dict[str, Any]:
    return _ok(
        client.post(f"{API}/cases/{case_id}/stage", json={"to": to}, headers=world.h["caseworker"])
    )


def _listed(client: TestClient, world: World, case_id: str) -> dict[str, Any]:
    page = _ok(
        client.post(f"{API}/cases/search", json={"limit": 200}, headers=world.h["supervisor"])
    )
    return next(item for item in page["items"] if item["id"] == case_id)


def test_one_case_through_the_whole_cycle(
    client: TestClient, world: World, db: Session, runtime: Runtime
) -> None:
    cw, sup, partner = world.h["caseworker"], world.h["supervisor"], world.h["partner"]
    settings = runtime.settings

    # Intake: the first-assessment clock runs (high risk: 24 h by default).
    case = _ok(client.post(f"{API}/cases", json=case_body(), headers=cw), 201)
    case_id = case["id"]
    url = f"{API}/cases/{case_id}"
    listed = _listed(client, world, case_id)
    assert listed["next_action_kind"] == "first_assessment"
    assert listed["overdue_items"] == []
    created = datetime.fromisoformat(case["created_at"])
    assert datetime.fromisoformat(case["next_action_due_at"]) - created == timedelta(
        hours=settings.first_action_hours_high
    )

    # Assessment stage; the plan stage is gated on a recorded assessment.
    _move(client, world, case_id, "assessment")
    _gate(client, world, case_id, "case_plan", ["assessment"])
    early_plan = client.put(f"{url}/plan", json=plan_body(), headers=cw)
    assert early_plan.status_code == 422  # goals must answer assessed needs
    assert early_plan.json()["errors"][0]["loc"] == ["body", "goals", 0, "need"]
    assessment = _ok(client.post(f"{url}/assessments", json=assessment_body(), headers=cw), 201)
    assert assessment["domains"][0]["needs"] == ["psychosocial_support"]
    assert assessment["child_views"] == "Wants to go back to school."
    assert _listed(client, world, case_id)["next_action_kind"] == "case_review"
    _move(client, world, case_id, "case_plan")

    # The plan: gated on a plan, then on its approval.
    _gate(client, world, case_id, "implementation", ["plan", "plan_approval"])
    draft = client.put(f"{url}/plan", json=plan_body(), headers=cw)
    assert draft.status_code == 200, draft.text
    assert draft.headers["etag"] == '"1"'
    assert (draft.json()["version"], draft.json()["status"]) == (1, "draft")
    _gate(client, world, case_id, "implementation", ["plan_approval"])
    assert client.post(f"{url}/plan/approve", headers=cw).status_code == 403
    approved = _ok(client.post(f"{url}/plan/approve", headers=sup))
    assert (approved["version"], approved["status"]) == (2, "approved")
    assert approved["approved_by"] == str(world.supervisor.id)

    # Changing an approved plan: If-Match required, current only; it becomes a draft again.
    changed = plan_body()
    changed["goals"][0]["id"] = approved["goals"][0]["id"]
    action = changed["goals"][0]["actions"][0]
    action["id"] = approved["goals"][0]["actions"][0]["id"]
    action["status"] = "in_progress"
    assert client.put(f"{url}/plan", json=changed, headers=cw).status_code == 428
    stale = client.put(f"{url}/plan", json=changed, headers={**cw, "If-Match": '"1"'})
    assert stale.status_code == 412
    redrafted = _ok(client.put(f"{url}/plan", json=changed, headers={**cw, "If-Match": '"2"'}))
    assert (redrafted["version"], redrafted["status"]) == (3, "draft")
    assert redrafted["goals"][0]["actions"][0]["id"] == action["id"]
    _gate(client, world, case_id, "implementation", ["plan_approval"])
    assert _ok(client.post(f"{url}/plan/approve", headers=sup))["version"] == 4
    versions = _ok(client.get(f"{url}/plan/versions", headers=sup))["items"]
    assert [(v["version"], v["status"]) for v in versions] == [
        (4, "approved"),
        (3, "draft"),
        (2, "approved"),
        (1, "draft"),
    ]
    first = _ok(client.get(f"{url}/plan/versions/1", headers=sup))
    assert first["goals"][0]["actions"][0]["status"] == "planned"
    moved = _move(client, world, case_id, "implementation")
    due_on = date.fromisoformat(action["due_on"])
    assert datetime.fromisoformat(moved["next_action_due_at"]) == datetime(
        due_on.year, due_on.month, due_on.day, tzinfo=UTC
    ) + timedelta(days=1)
    assert _listed(client, world, case_id)["next_action_kind"] == "plan_action"

    # Services: one by the agency itself, one through a partner's referral outcome.
    own = _ok(
        client.post(
            f"{url}/services",
            json={
                "service_type": "medical",
                "provided_on": today().isoformat(),
                "provided_by": "own_agency",
                "description": "Wound dressing at the clinic.",
            },
            headers=cw,
        ),
        201,
    )
    referral = _ok(
        client.post(f"{url}/referrals", json=referral_body(world.partner_agency.id), headers=cw),
        201,
    )
    rid = referral["id"]
    _ok(client.post(f"{API}/referrals/{rid}/approve", headers=sup))
    _ok(client.post(f"{API}/referrals/{rid}/accept", headers=partner))
    _ok(
        client.post(
            f"{API}/referrals/{rid}/complete",
            json={"outcome": "Eight group sessions attended."},
            headers=partner,
        )
    )
    delivered = _ok(client.get(f"{url}/services", headers=cw))["items"]
    assert [item["provided_by"] for item in delivered] == ["partner", "own_agency"]
    from_partner = delivered[0]
    assert from_partner["referral_id"] == rid
    assert from_partner["service_type"] == "mhpss"
    assert from_partner["outcome"] == "Eight group sessions attended."
    assert from_partner["recorded_by_type"] == "client"
    assert delivered[1]["id"] == own["id"]
    # Partners never read casework records, even of a case they work with.
    for path in ("assessments", "plan", "services", "follow-ups", "timeline"):
        assert client.get(f"{url}/{path}", headers=partner).status_code == 403

    # Follow-ups: the latest sets the next one.
    _move(client, world, case_id, "follow_up")
    soon = today() + timedelta(days=3)
    _ok(
        client.post(
            f"{url}/follow-ups", json=follow_up_body(next_due_on=soon.isoformat()), headers=cw
        ),
        201,
    )
    assert _listed(client, world, case_id)["next_action_kind"] == "follow_up"
    _ok(client.post(f"{url}/notes", json={"text": "Spoke with the school."}, headers=cw), 201)

    # Closure with a reason.
    _move(client, world, case_id, "closure")
    assert client.post(f"{url}/close", headers=sup).status_code == 422
    no_note = client.post(f"{url}/close", json={"reason": "other"}, headers=sup)
    assert no_note.status_code == 422
    assert no_note.json()["errors"][0]["loc"] == ["body", "note"]
    closed = _ok(client.post(f"{url}/close", json={"reason": "goals_met"}, headers=sup))
    assert (closed["status"], closed["next_action_due_at"]) == ("closed", None)
    refused = client.post(f"{url}/follow-ups", json=follow_up_body(), headers=cw)
    assert refused.status_code == 409

    # The timeline, newest first, walked in small pages without repeats.
    timeline = _ok(client.get(f"{url}/timeline", headers=sup))["items"]
    kinds = [item["kind"] for item in timeline]
    assert kinds[0] == "closure" and timeline[0]["summary"] == "Closed: goals_met"
    assert {"stage", "assessment", "plan", "service", "follow_up", "note", "referral"} <= set(kinds)
    assert kinds.count("plan") == 4 and kinds.count("stage") == 5
    stamps = [item["at"] for item in timeline]
    assert stamps == sorted(stamps, reverse=True)
    walked: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = _ok(client.get(f"{url}/timeline", params=params, headers=cw))
        walked += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == [item["id"] for item in timeline]

    # The partner's completion recorded its service in the audit log, as the partner.
    db.expire_all()
    row = db.scalars(
        select(ServiceDelivery).where(ServiceDelivery.referral_id == uuid.UUID(rid))
    ).one()
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "service.create", AuditEvent.resource_id == str(row.id)
        )
    ).one()
    assert event.actor_type == "client"
    assert "Eight" not in str(event.detail)


def test_overdue_says_which_kind_of_work_is_late(client: TestClient, world: World) -> None:
    cw, sup = world.h["caseworker"], world.h["supervisor"]
    case_id = _ok(client.post(f"{API}/cases", json=case_body(), headers=cw), 201)["id"]
    url = f"{API}/cases/{case_id}"
    _ok(client.post(f"{url}/assessments", json=assessment_body(), headers=cw), 201)
    late = plan_body()
    yesterday = today() - timedelta(days=1)
    late["goals"][0]["actions"][0]["due_on"] = yesterday.isoformat()
    _ok(client.put(f"{url}/plan", json=late, headers=cw))
    past_visit = today() - timedelta(days=10)
    _ok(
        client.post(
            f"{url}/follow-ups",
            json=follow_up_body(
                happened_on=past_visit.isoformat(),
                next_due_on=(past_visit + timedelta(days=2)).isoformat(),
            ),
            headers=cw,
        ),
        201,
    )
    for listing in (
        client.get(f"{API}/cases", params={"overdue": "true"}, headers=sup),
        client.post(f"{API}/cases/search", json={"overdue": True}, headers=sup),
    ):
        items = _ok(listing)["items"]
        item = next(entry for entry in items if entry["id"] == case_id)
        assert [entry["kind"] for entry in item["overdue_items"]] == ["follow_up", "plan_action"]
        assert item["next_action_kind"] == "follow_up"
    caseload = _ok(client.get(f"{API}/caseload", headers=sup))["items"]
    mine = next(row for row in caseload if row["caseworker_id"] == str(world.owner.id))
    assert mine["overdue_items"]["plan_action"] >= 1
    assert mine["overdue_items"]["follow_up"] >= 1
    assert mine["overdue_cases"] >= 1
    assert mine["by_stage"]["registration"] >= 1
    assert mine["follow_ups_due_soon"] >= 1
    # Done and dropped actions no longer count.
    plan = _ok(client.get(f"{url}/plan", headers=cw))
    done = {
        "goals": [
            {
                **{k: goal[k] for k in ("id", "need", "description")},
                "actions": [{**action, "status": "done"} for action in goal["actions"]],
            }
            for goal in plan["goals"]
        ],
        "review_due_on": plan["review_due_on"],
    }
    _ok(client.put(f"{url}/plan", json=done, headers={**cw, "If-Match": f'"{plan["version"]}"'}))
    items = _ok(client.get(f"{API}/cases", params={"overdue": "true"}, headers=sup))["items"]
    item = next(entry for entry in items if entry["id"] == case_id)
    assert [entry["kind"] for entry in item["overdue_items"]] == ["follow_up"]
