"""The Cases section of the contract through HTTP: intake, read, update, workflow, notes,
erasure, reference data, and the audit events each one writes."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.audit import AuditEvent, AuditEventCase
from models.cases import Case, CaseNote, CaseSearchToken, CaseTombstone
from models.keys import DataKey
from services.config import Settings
from tests.api.test_cases_helpers import World, body, create, etag, patch, search, world
from tests.casework_support import (
    CLOSE_BODY,
    approved_plan_http,
    record_assessment_http,
    walk_http,
)
from tests.factories import API, make_user

__all__ = ["world"]

NAMES = [
    pytest.param("Amal", "Hassan", id="latin"),
    pytest.param("أَمَلْ", "الحَسَّاني", id="arabic-with-diacritics"),
    pytest.param("ئاڤین", "کەریمی", id="kurdish-sorani"),
    pytest.param("Rêzan", "Şêxo", id="kurdish-kurmanji-latin"),
    pytest.param("  Léa  ", "O'Brien-Nuñez", id="spaces-and-accents"),
]


def events(
    db: Session, action: str, case_id: str | None = None, outcome: str = "success"
) -> list[AuditEvent]:
    db.expire_all()
    query = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.outcome == outcome)
    if case_id is not None:
        query = query.where(AuditEvent.case_id == uuid.UUID(case_id))
    return list(db.execute(query.order_by(AuditEvent.seq)).scalars())


# --- intake and read ---------------------------------------------------------------------


@pytest.mark.parametrize(("given", "family"), NAMES)
def test_names_round_trip_exactly(
    client: TestClient, world: World, given: str, family: str
) -> None:
    sent = body(given, family)
    created = create(client, world.owner, sent)
    got = client.get(f"{API}/cases/{created['id']}", headers=world.owner.headers)
    assert got.status_code == 200
    case = got.json()
    for key in ("child", "location"):
        assert {k: case[key][k] for k in sent[key]} == sent[key]
    for key in ("caregivers", "separation_status", "protection_concerns"):
        assert case[key] == sent[key]
    assert case["child"]["given_name"] == given
    assert case["child"]["family_name"] == family
    assert case["narrative"] == sent["narrative"]
    assert case["risk_level"] == "high"
    assert got.headers["etag"] == '"1"'


def test_intake_answers_201_with_the_contract_fields(
    client: TestClient, world: World, settings: Settings
) -> None:
    response = client.post(f"{API}/cases", json=body(), headers=world.owner.headers)
    assert response.status_code == 201
    assert response.headers["etag"] == '"1"'
    case = response.json()
    for key in (
        "id",
        "case_number",
        "version",
        "status",
        "stage",
        "agency_id",
        "owner_id",
        "created_at",
        "updated_at",
        "next_action_due_at",
        "possible_duplicates",
    ):
        assert key in case
    assert re.fullmatch(r"HVN-\d{4}-\d{6}", case["case_number"])
    assert case["version"] == 1
    assert (case["status"], case["stage"]) == ("open", "registration")
    assert case["owner_id"] == str(world.owner.id)
    assert case["agency_id"] == str(world.agency.id)
    created = datetime.fromisoformat(case["created_at"])
    due = datetime.fromisoformat(case["next_action_due_at"])
    assert due - created == timedelta(hours=settings.first_action_hours_high)


def test_case_numbers_are_distinct(client: TestClient, world: World) -> None:
    numbers = {create(client, world.owner, body(f"Child{i}"))["case_number"] for i in range(3)}
    assert len(numbers) == 3


@pytest.mark.parametrize(
    ("mutate", "loc"),
    [
        (lambda b: b["child"].update(sex="boy"), ["body", "child", "sex"]),
        (lambda b: b["child"].update(given_name=""), ["body", "child", "given_name"]),
        (lambda b: b["child"].update(given_name="   "), ["body", "child", "given_name"]),
        (lambda b: b["child"].update(given_name="x" * 101), ["body", "child", "given_name"]),
        (lambda b: b["child"].update(given_name="A\x00b"), ["body", "child", "given_name"]),
        (lambda b: b["location"].update(district="Line\nbreak"), ["body", "location", "district"]),
        (lambda b: b.update(narrative="Bell\x07"), ["body", "narrative"]),
        (lambda b: b["child"].update(estimated_age="7"), ["body", "child", "estimated_age"]),
        (
            lambda b: b["child"].update(date_of_birth="2999-01-01"),
            ["body", "child", "date_of_birth"],
        ),
        (lambda b: b.update(risk_level="urgent"), ["body", "risk_level"]),
        (lambda b: b.update(separation_status="lost"), ["body", "separation_status"]),
        (
            lambda b: b.update(protection_concerns=["caafag", "aliens"]),
            ["body", "protection_concerns", 1],
        ),
        (
            lambda b: b.update(protection_concerns=["caafag", "caafag"]),
            ["body", "protection_concerns", 1],
        ),
        (lambda b: b.update(surprise=True), ["body", "surprise"]),
        (lambda b: b["location"].pop("district"), ["body", "location", "district"]),
        (lambda b: b["caregivers"][0].update(phone="call me"), ["body", "caregivers", 0, "phone"]),
    ],
)
def test_bad_intake_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, world: World, db: Session, mutate: Any, loc: list[Any]
) -> None:
    data = body()
    mutate(data)
    before = db.scalar(select(func.count()).select_from(Case))
    response = client.post(f"{API}/cases", json=data, headers=world.owner.headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert loc in [e["loc"] for e in problem["errors"]]
    assert "Amal" not in response.text and "Sinjar" not in response.text
    assert db.scalar(select(func.count()).select_from(Case)) == before


def test_prose_keeps_line_breaks(client: TestClient, world: World) -> None:
    text = "Line one.\nLine two,\tafter a tab.\r\nEnd."
    case = create(client, world.owner, body(narrative=text))
    assert case["narrative"] == text
    note = client.post(
        f"{API}/cases/{case['id']}/notes", json={"text": text}, headers=world.owner.headers
    )
    assert note.status_code == 201 and note.json()["text"] == text
    nul = client.post(
        f"{API}/cases/{case['id']}/notes", json={"text": "a\x00b"}, headers=world.owner.headers
    )
    assert nul.status_code == 422


def test_estimated_age_instead_of_birth_date(client: TestClient, world: World) -> None:
    case = create(client, world.owner, body(dob=None))
    assert case["child"]["date_of_birth"] is None
    assert case["child"]["estimated_age"] == 10


def test_intake_and_read_are_audited_with_the_case_id(
    client: TestClient, world: World, db: Session
) -> None:
    case = create(client, world.owner)
    client.get(f"{API}/cases/{case['id']}", headers=world.owner.headers)
    assert len(events(db, "case.create", case["id"])) == 1
    read = events(db, "case.read", case["id"])
    assert len(read) == 1 and read[0].actor_id == world.owner.id


# --- PATCH ------------------------------------------------------------------------------


def test_patch_needs_if_match(client: TestClient, world: World) -> None:
    case = create(client, world.owner)
    url = f"{API}/cases/{case['id']}"
    missing = client.patch(url, json={"narrative": "x"}, headers=world.owner.headers)
    assert missing.status_code == 428
    stale = client.patch(
        url, json={"narrative": "x"}, headers={**world.owner.headers, "If-Match": '"7"'}
    )
    assert stale.status_code == 412
    assert client.get(url, headers=world.owner.headers).json()["narrative"] == case["narrative"]


def test_patch_merges_bumps_version_and_audits_field_names(
    client: TestClient, world: World, db: Session
) -> None:
    case = create(client, world.owner)
    response = patch(
        client,
        world.owner,
        case,
        {"child": {"family_name": "الحسن"}, "narrative": None, "caregivers": []},
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == etag(2)
    updated = response.json()
    assert updated["version"] == 2
    assert updated["child"]["given_name"] == "Amal"
    assert updated["child"]["family_name"] == "الحسن"
    assert updated["narrative"] is None
    assert updated["caregivers"] == []
    (event,) = events(db, "case.update", case["id"])
    assert json.loads(event.fields or "[]") == ["caregivers", "child.family_name", "narrative"]
    assert "الحسن" not in (event.detail or "") and "Hassan" not in (event.detail or "")
    # The old If-Match is stale now.
    assert patch(client, world.owner, case, {"narrative": "again"}).status_code == 412
    # Search follows the new name.
    assert search(client, world.owner, name="الحسن") == [case["id"]]
    assert search(client, world.owner, name="Hassan") == []


def test_patch_risk_level_reschedules(client: TestClient, world: World, settings: Settings) -> None:
    case = create(client, world.owner)
    updated = patch(client, world.owner, case, {"risk_level": "low"}).json()
    created = datetime.fromisoformat(updated["created_at"])
    due = datetime.fromisoformat(updated["next_action_due_at"])
    assert due - created == timedelta(hours=settings.first_action_hours_low)


@pytest.mark.parametrize(
    "changes",
    [
        {"risk_level": None},
        {"child": None},
        {"child": {"given_name": None}},
        {"child": {"given_name": ""}},
        {"protection_concerns": ["nope"]},
        {"status": "closed"},
        {"version": 9},
    ],
)
def test_bad_patch_is_422_and_changes_nothing(
    client: TestClient, world: World, changes: dict[str, Any]
) -> None:
    case = create(client, world.owner)
    assert patch(client, world.owner, case, changes).status_code == 422
    again = client.get(f"{API}/cases/{case['id']}", headers=world.owner.headers).json()
    assert again["version"] == 1


def test_empty_patch_changes_nothing(client: TestClient, world: World) -> None:
    case = create(client, world.owner)
    response = patch(client, world.owner, case, {})
    assert response.status_code == 200
    assert response.json()["version"] == 1


# --- workflow ---------------------------------------------------------------------------


def move(client: TestClient, actor: Any, case_id: str, to: str) -> Any:
    return client.post(f"{API}/cases/{case_id}/stage", json={"to": to}, headers=actor.headers)


def _gates_met(client: TestClient, world: World, case_id: str) -> int:
    """Record the assessment and approved plan the stage gates ask for; the case's version."""
    record_assessment_http(client, world.owner.headers, case_id)
    approved_plan_http(client, world.owner.headers, world.supervisor.headers, case_id)
    version: int = client.get(f"{API}/cases/{case_id}", headers=world.owner.headers).json()[
        "version"
    ]
    return version


def test_stage_machine_walks_forward_and_back_to_case_plan(
    client: TestClient, world: World, settings: Settings, db: Session
) -> None:
    case = create(client, world.owner)
    version = _gates_met(client, world, case["id"])
    for to in (
        "assessment",
        "case_plan",
        "implementation",
        "follow_up",
        "case_plan",
        "implementation",
        "follow_up",
        "closure",
    ):
        response = move(client, world.owner, case["id"], to)
        assert response.status_code == 200, (to, response.text)
        version += 1
        moved = response.json()
        assert moved["stage"] == to and moved["version"] == version
        assert response.headers["etag"] == etag(version)
    assert moved["closure_requested_at"] is not None
    assert moved["status"] == "open"
    due = datetime.fromisoformat(moved["next_action_due_at"])
    assert due - datetime.fromisoformat(moved["updated_at"]) <= timedelta(
        days=settings.review_days_high
    )
    assert len(events(db, "case.stage", case["id"])) == 8


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ([], "case_plan"),
        ([], "registration"),
        ([], "closure"),
        (["assessment"], "registration"),
        (["assessment", "case_plan"], "follow_up"),
        (["assessment", "case_plan", "implementation"], "case_plan"),
    ],
)
def test_illegal_stage_moves_are_409_and_change_nothing(
    client: TestClient, world: World, path: list[str], to: str
) -> None:
    case = create(client, world.owner)
    _gates_met(client, world, case["id"])
    for step in path:
        assert move(client, world.owner, case["id"], step).status_code == 200
    before = client.get(f"{API}/cases/{case['id']}", headers=world.owner.headers).json()
    response = move(client, world.owner, case["id"], to)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    after = client.get(f"{API}/cases/{case['id']}", headers=world.owner.headers).json()
    assert (after["stage"], after["version"]) == (before["stage"], before["version"])


def test_unknown_stage_name_is_422(client: TestClient, world: World) -> None:
    case = create(client, world.owner)
    assert move(client, world.owner, case["id"], "done").status_code == 422


def to_closure(client: TestClient, world: World) -> dict[str, Any]:
    case = create(client, world.owner)
    walk_http(client, world.owner.headers, world.supervisor.headers, case["id"])
    return case


def test_close_and_reopen_by_supervisor(client: TestClient, world: World, db: Session) -> None:
    case = to_closure(client, world)
    url = f"{API}/cases/{case['id']}"
    assert (
        client.post(f"{url}/close", json=CLOSE_BODY, headers=world.owner.headers).status_code == 403
    )
    closed = client.post(f"{url}/close", json=CLOSE_BODY, headers=world.supervisor.headers)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert closed.json()["next_action_due_at"] is None
    assert closed.json()["closed_at"] is not None
    assert (
        client.post(f"{url}/close", json=CLOSE_BODY, headers=world.supervisor.headers).status_code
        == 409
    )
    assert move(client, world.owner, case["id"], "follow_up").status_code == 409
    assert patch(client, world.owner, closed.json(), {"narrative": "x"}).status_code == 409
    assert client.post(f"{url}/reopen", headers=world.owner.headers).status_code == 403
    reopened = client.post(f"{url}/reopen", headers=world.supervisor.headers)
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open"
    assert reopened.json()["stage"] == "follow_up"
    assert reopened.json()["next_action_due_at"] is not None
    assert client.post(f"{url}/reopen", headers=world.supervisor.headers).status_code == 409
    assert len(events(db, "case.close", case["id"])) == 1
    assert len(events(db, "case.reopen", case["id"])) == 1


def test_a_closed_case_takes_no_note_until_it_is_reopened(
    client: TestClient, world: World, db: Session
) -> None:
    case = to_closure(client, world)
    url = f"{API}/cases/{case['id']}"
    assert client.post(f"{url}/close", json=CLOSE_BODY, headers=world.supervisor.headers).is_success
    for who in (world.owner, world.supervisor):
        refused = client.post(f"{url}/notes", json={"text": "after closing"}, headers=who.headers)
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "closed" in refused.json()["detail"]
    assert (
        db.scalar(
            select(func.count())
            .select_from(CaseNote)
            .where(CaseNote.case_id == uuid.UUID(case["id"]))
        )
        == 0
    )
    assert client.post(f"{url}/reopen", headers=world.supervisor.headers).is_success
    added = client.post(
        f"{url}/notes", json={"text": "after reopening"}, headers=world.owner.headers
    )
    assert added.status_code == 201, added.text


def test_close_before_closure_stage_is_409(client: TestClient, world: World) -> None:
    case = create(client, world.owner)
    response = client.post(
        f"{API}/cases/{case['id']}/close", json=CLOSE_BODY, headers=world.supervisor.headers
    )
    assert response.status_code == 409


def test_workflow_if_match_is_honoured_when_sent(client: TestClient, world: World) -> None:
    case = create(client, world.owner)
    url = f"{API}/cases/{case['id']}/stage"
    stale = {**world.owner.headers, "If-Match": '"5"'}
    assert client.post(url, json={"to": "assessment"}, headers=stale).status_code == 412
    fresh = {**world.owner.headers, "If-Match": '"1"'}
    assert client.post(url, json={"to": "assessment"}, headers=fresh).status_code == 200


# --- assignment -------------------------------------------------------------------------


def test_assign_moves_ownership(client: TestClient, world: World, db: Session) -> None:
    case = create(client, world.owner)
    url = f"{API}/cases/{case['id']}"
    response = client.post(
        f"{url}/assign", json={"user_id": str(world.colleague.id)}, headers=world.supervisor.headers
    )
    assert response.status_code == 200
    assert response.json()["owner_id"] == str(world.colleague.id)
    assert response.json()["version"] == 2
    assert client.get(url, headers=world.owner.headers).status_code == 404
    assert client.get(url, headers=world.colleague.headers).status_code == 200
    (event,) = events(db, "case.assign", case["id"])
    assert json.loads(event.detail or "{}")["to_owner_id"] == str(world.colleague.id)


def test_assign_rules(client: TestClient, world: World, db: Session) -> None:
    case = create(client, world.owner)
    url = f"{API}/cases/{case['id']}/assign"

    def assign(actor: Any, user_id: object) -> int:
        status: int = client.post(
            url, json={"user_id": str(user_id)}, headers=actor.headers
        ).status_code
        return status

    inactive = make_user(db, world.agency, "caseworker", is_active=False)
    assert assign(world.owner, world.colleague.id) == 403
    assert assign(world.supervisor, world.other_caseworker.id) == 404
    assert assign(world.supervisor, world.supervisor.id) == 422
    assert assign(world.supervisor, inactive.id) == 422
    assert assign(world.supervisor, "00000000-0000-0000-0000-000000000000") == 404
    assert assign(world.other_supervisor, world.colleague.id) == 404
    assert (
        client.get(f"{API}/cases/{case['id']}", headers=world.owner.headers).json()["version"] == 1
    )


# --- listing, filters, overdue ----------------------------------------------------------


def test_list_paginates_with_a_cursor(client: TestClient, world: World) -> None:
    made = {create(client, world.owner, body(f"Page{i}"))["id"] for i in range(5)}
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"{API}/cases", params=params, headers=world.owner.headers).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == made


def test_list_filters(client: TestClient, world: World) -> None:
    high = create(client, world.owner, body("Alpha", risk_level="high"))
    low = create(client, world.owner, body("Beta", risk_level="low"))
    moved = create(client, world.colleague, body("Gamma", risk_level="medium"))
    move(client, world.colleague, moved["id"], "assessment")
    sup = world.supervisor
    assert search(client, sup, risk_level="low") == [low["id"]]
    assert search(client, sup, stage="assessment") == [moved["id"]]
    assert set(search(client, sup, owner_id=str(world.owner.id))) == {high["id"], low["id"]}
    assert search(client, world.owner, owner_id=str(world.colleague.id)) == []
    assert set(search(client, sup, status="open")) == {high["id"], low["id"], moved["id"]}
    assert search(client, sup, status="closed") == []
    for bad in (
        {"risk_level": "urgent"},
        {"status": "gone"},
        {"limit": 0},
        {"limit": 201},
        {"cursor": "not-a-cursor"},
        {"overdue": "perhaps"},
    ):
        response = client.get(f"{API}/cases", params=bad, headers=sup.headers)
        assert response.status_code == 422, bad


def test_overdue_lists_open_cases_past_due(client: TestClient, world: World, db: Session) -> None:
    late = create(client, world.owner, body("Late"))
    later = create(client, world.owner, body("Later"))
    create(client, world.owner, body("OnTime"))
    closed = to_closure(client, world)
    client.post(
        f"{API}/cases/{closed['id']}/close", json=CLOSE_BODY, headers=world.supervisor.headers
    )
    now = datetime.now().astimezone()
    for case_id, hours in ((late["id"], 48), (later["id"], 2), (closed["id"], 100)):
        row = db.get(Case, uuid.UUID(case_id))
        assert row is not None
        row.next_action_due_at = now - timedelta(hours=hours)
        row.version  # noqa: B018 (loaded)
    db.flush()
    assert search(client, world.supervisor, overdue="true") == [late["id"], later["id"]]
    assert search(client, world.colleague, overdue="true") == []
    first = client.get(
        f"{API}/cases", params={"overdue": "true", "limit": 1}, headers=world.supervisor.headers
    ).json()
    assert [i["id"] for i in first["items"]] == [late["id"]]
    second = client.get(
        f"{API}/cases",
        params={"overdue": "true", "limit": 1, "cursor": first["next_cursor"]},
        headers=world.supervisor.headers,
    ).json()
    assert [i["id"] for i in second["items"]] == [later["id"]]


def test_a_list_is_one_audit_event_naming_every_returned_case(
    client: TestClient, world: World, db: Session
) -> None:
    a = create(client, world.owner, body("One"))
    b = create(client, world.owner, body("Two"))
    listed = search(client, world.owner)
    (event,) = events(db, "case.list")
    assert event.case_id is None
    detail = json.loads(event.detail or "{}")
    assert detail["case_ids"] == listed and {a["id"], b["id"]} <= set(listed)
    assert detail["count"] == len(listed)
    # The access-log index holds one row per listed case, pointing at that one event.
    indexed = db.execute(
        select(AuditEventCase.case_id).where(AuditEventCase.seq == event.seq)
    ).scalars()
    assert sorted(str(case_id) for case_id in indexed) == sorted(listed)
    search(client, world.owner, name="One")
    (found,) = events(db, "case.search")
    assert json.loads(found.detail or "{}")["case_ids"] == [a["id"]]
    assert "One" not in (found.detail or "")
    assert json.loads(found.detail or "{}")["filters"] == ["name"]
    search(client, world.owner, name="Nobody")
    nothing = events(db, "case.search")[-1]
    assert json.loads(nothing.detail or "{}") == {"count": 0, "filters": ["name"]}


# --- notes ------------------------------------------------------------------------------


def test_notes_are_encrypted_and_listed_newest_first(
    client: TestClient, world: World, db: Session
) -> None:
    case = create(client, world.owner)
    url = f"{API}/cases/{case['id']}/notes"
    texts = ["First visit: زيارة أولى", "Second visit", "Third visit ئاڤین"]
    for text in texts:
        response = client.post(url, json={"text": text}, headers=world.owner.headers)
        assert response.status_code == 201
        assert response.json()["text"] == text
        assert response.json()["author_id"] == str(world.owner.id)
    listed = client.get(url, headers=world.supervisor.headers).json()
    assert [n["text"] for n in listed["items"]] == texts[::-1]
    first = client.get(url, params={"limit": 2}, headers=world.owner.headers).json()
    rest = client.get(
        url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=world.owner.headers
    ).json()
    assert [n["text"] for n in first["items"] + rest["items"]] == texts[::-1]
    assert rest["next_cursor"] is None
    for note in db.execute(select(CaseNote)).scalars():
        assert b"visit" not in note.text_encrypted
    assert len(events(db, "note.create", case["id"])) == 3
    assert len(events(db, "note.list", case["id"])) == 3
    assert client.post(url, json={"text": ""}, headers=world.owner.headers).status_code == 422
    assert client.post(url, json={"text": "x"}, headers=world.colleague.headers).status_code == 404


# --- idempotency ------------------------------------------------------------------------


def count(db: Session, model: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_replayed_intake_returns_the_same_case_and_creates_nothing(
    client: TestClient, world: World, db: Session
) -> None:
    first = create(client, world.owner, key="intake-1")
    cases_before = count(db, Case)
    keys_before = count(db, DataKey)
    headers = {**world.owner.headers, "Idempotency-Key": "intake-1"}
    again = client.post(f"{API}/cases", json=body(), headers=headers)
    assert again.status_code in (200, 201)
    assert again.json()["id"] == first["id"]
    assert again.json()["case_number"] == first["case_number"]
    assert again.headers["idempotent-replayed"] == "true"
    assert (count(db, Case), count(db, DataKey)) == (cases_before, keys_before)
    different = client.post(f"{API}/cases", json=body("Other"), headers=headers)
    assert different.status_code == 422
    assert different.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert count(db, Case) == cases_before
    # Keys are per caller: the same key from someone else is a new request.
    other = create(client, world.colleague, key="intake-1")
    assert other["id"] != first["id"]


def test_idempotency_record_holds_no_plaintext(
    client: TestClient, world: World, db: Session
) -> None:
    from models.cases import IdempotencyRecord

    create(client, world.owner, body("Zubaida", "Qaraman"), key="k-plain")
    record = db.execute(select(IdempotencyRecord)).scalars().one()
    row = " ".join(str(v) for v in record.__dict__.values())
    assert "Zubaida" not in row and "k-plain" not in row


def test_replayed_note_returns_the_same_note(client: TestClient, world: World, db: Session) -> None:
    case = create(client, world.owner)
    url = f"{API}/cases/{case['id']}/notes"
    headers = {**world.owner.headers, "Idempotency-Key": "note-1"}
    one = client.post(url, json={"text": "Home visit"}, headers=headers)
    two = client.post(url, json={"text": "Home visit"}, headers=headers)
    assert one.status_code == 201 and two.status_code in (200, 201)
    assert one.json()["id"] == two.json()["id"]
    assert count(db, CaseNote) == 1
    assert client.post(url, json={"text": "Other"}, headers=headers).status_code == 422
    other_case = create(client, world.owner, body("Other"))
    elsewhere = client.post(
        f"{API}/cases/{other_case['id']}/notes", json={"text": "Home visit"}, headers=headers
    )
    assert elsewhere.status_code == 422


def test_expired_idempotency_key_starts_afresh(
    client: TestClient, world: World, db: Session
) -> None:
    from models.cases import IdempotencyRecord

    first = create(client, world.owner, key="old-key")
    record = db.execute(select(IdempotencyRecord)).scalars().one()
    record.created_at = record.created_at - timedelta(hours=25)
    db.flush()
    second = create(client, world.owner, body("Different"), key="old-key")
    assert second["id"] != first["id"]


# --- erasure ----------------------------------------------------------------------------


def test_erasure_shreds_the_case(client: TestClient, world: World, db: Session) -> None:
    case = create(client, world.owner, body("Erasable", "Person"))
    url = f"{API}/cases/{case['id']}"
    client.post(f"{url}/notes", json={"text": "a note"}, headers=world.owner.headers)
    reason = {"reason": "Duplicate registration"}
    assert (
        client.request("DELETE", url, json=reason, headers=world.owner.headers).status_code == 403
    )
    assert (
        client.request(
            "DELETE", url, json=reason, headers=world.other_supervisor.headers
        ).status_code
        == 404
    )
    assert (
        client.request("DELETE", url, json={}, headers=world.supervisor.headers).status_code == 422
    )
    assert (
        client.request(
            "DELETE", url, json={"reason": " "}, headers=world.supervisor.headers
        ).status_code
        == 422
    )
    row = db.get(Case, uuid.UUID(case["id"]))
    assert row is not None
    data_key_id = row.data_key_id
    gone = client.request("DELETE", url, json=reason, headers=world.supervisor.headers)
    assert gone.status_code == 204
    assert gone.content == b""
    db.expire_all()
    for actor in (world.owner, world.supervisor):
        assert client.get(url, headers=actor.headers).status_code == 404
        assert client.get(f"{url}/notes", headers=actor.headers).status_code == 404
        assert search(client, actor, name="Erasable") == []
    assert (
        client.request("DELETE", url, json=reason, headers=world.supervisor.headers).status_code
        == 404
    )
    assert count(db, CaseNote) == 0
    assert db.execute(select(CaseSearchToken)).first() is None
    key = db.get(DataKey, data_key_id)
    assert key is not None and key.wrapped_key is None and key.destroyed_at is not None
    tomb = db.execute(select(CaseTombstone)).scalars().one()
    assert tomb.case_number == case["case_number"]
    assert tomb.erased_by == world.supervisor.id
    assert b"Duplicate" not in tomb.reason_sealed
    (event,) = events(db, "case.erase", case["id"])
    assert "Duplicate" not in (event.detail or "")
    denied = events(db, "case.erase", case["id"], outcome="denied")
    assert {e.actor_id for e in denied} == {
        world.owner.id,
        world.other_supervisor.id,
        world.supervisor.id,
    }


# --- reference --------------------------------------------------------------------------


def test_reference_concerns(client: TestClient, world: World) -> None:
    url = f"{API}/reference/concerns"
    for actor in (
        world.owner,
        world.supervisor,
        world.system_admin,
        world.agency_admin,
        world.auditor,
        world.partner,
    ):
        response = client.get(url, headers=actor.headers)
        assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 16
    assert {"caafag", "explosive_ordnance", "separated_unaccompanied"} <= {i["code"] for i in items}
    assert all(i["label"] == i["labels"]["en"] and i["labels"]["ar"] for i in items)
    arabic = client.get(url, headers={**world.owner.headers, "Accept-Language": "ar"}).json()
    assert all(i["label"] == i["labels"]["ar"] for i in arabic["items"])
    assert client.get(url, headers=world.partner_respond_only.headers).status_code == 403
    assert client.get(url).status_code == 401


def test_erasure_takes_the_case_referrals_with_it(
    client: TestClient, world: World, db: Session
) -> None:
    from models.referrals import Referral

    case = create(client, world.owner)
    referral = client.post(
        f"{API}/cases/{case['id']}/referrals",
        json={
            "to_agency_id": str(world.other_agency.id),
            "service_type": "mhpss",
            "urgency": "high",
            "reason": "Needs support",
            "shared_fields": ["child.given_name"],
            "consent": {"given_by": "caregiver", "obtained_at": "2026-01-01T10:00:00Z"},
        },
        headers=world.owner.headers,
    )
    assert referral.status_code == 201, referral.text
    gone = client.request(
        "DELETE",
        f"{API}/cases/{case['id']}",
        json={"reason": "Erase"},
        headers=world.supervisor.headers,
    )
    assert gone.status_code == 204
    db.expire_all()
    assert db.get(Referral, uuid.UUID(referral.json()["id"])) is None
