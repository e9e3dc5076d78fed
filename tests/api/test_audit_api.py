"""The Audit section of the contract through HTTP: `GET /audit/events` (filters, cursor, item
shape), `GET /audit/verify`, `GET /cases/{id}/access-log`, each audited itself."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from models.base import utcnow
from models.identity import Agency, User
from services.config import Settings
from services.identity.recovery import operator_reset_password
from services.keys.rotation import retire_old_versions, rotate
from services.policy import Role
from services.runtime import Runtime
from tests.databases import is_postgres
from tests.factories import (
    API,
    client_headers,
    make_agency,
    make_api_client,
    make_user,
    user_headers,
)
from tests.referrals_support import case_body


class People:
    def __init__(self, db: Session, settings: Settings) -> None:
        self.agency: Agency = make_agency(db)
        self.other: Agency = make_agency(db)
        self.auditor: User = make_user(db, self.other, Role.AUDITOR)
        self.caseworker: User = make_user(db, self.agency, Role.CASEWORKER)
        self.supervisor: User = make_user(db, self.agency, Role.SUPERVISOR)
        self.other_supervisor: User = make_user(db, self.other, Role.SUPERVISOR)
        self.admin: User = make_user(db, self.agency, Role.AGENCY_ADMIN)
        self.h = {
            name: user_headers(db, getattr(self, name), settings)
            for name in ("auditor", "caseworker", "supervisor", "other_supervisor", "admin")
        }
        db.commit()


@pytest.fixture
def people(db: Session, settings: Settings) -> People:
    return People(db, settings)


def new_case(client: TestClient, people: People) -> str:
    created = client.post(f"{API}/cases", json=case_body(), headers=people.h["caseworker"])
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def all_events(client: TestClient, headers: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/audit/events", params=params, headers=headers)
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def test_events_have_the_contract_shape_and_never_a_case_value(
    client: TestClient, people: People
) -> None:
    case_id = new_case(client, people)
    assert client.get(f"{API}/cases/{case_id}", headers=people.h["caseworker"]).status_code == 200
    page = client.get(
        f"{API}/audit/events", params={"case_id": case_id}, headers=people.h["auditor"]
    )
    assert page.status_code == 200
    items = page.json()["items"]
    assert [i["action"] for i in items] == ["case.create", "case.read"]
    read = items[1]
    assert read["actor"] == {
        "type": "user",
        "id": str(people.caseworker.id),
        "role": "caseworker",
        "scopes": None,
        "agency_id": str(people.agency.id),
    }
    assert read["resource_type"] == "case" and read["resource_id"] == case_id
    assert read["case_id"] == case_id and read["outcome"] == "success"
    assert read["request_id"] and read["client_address"]
    assert len(read["hash"]) == 64 and items[0]["seq"] < read["seq"]
    assert {"seq", "at", "actor", "action", "fields", "detail"} <= read.keys()
    text = page.text
    for value in ("MKgiven", "MKfamily", "MKnarrative", "MKaddress", "MKcaregiver"):
        assert value not in text


def test_client_actors_show_their_scopes(
    client: TestClient, db: Session, settings: Settings, people: People
) -> None:
    partner = make_api_client(db, people.other)
    headers = client_headers(db, partner, settings)
    db.commit()
    assert client.get(f"{API}/referrals", headers=headers).status_code == 200
    items = all_events(client, people.h["auditor"], actor_id=str(partner.id))
    assert items, "the partner's list is audited"
    assert items[-1]["actor"]["type"] == "client"
    assert items[-1]["actor"]["scopes"] == ["referrals:read", "referrals:respond"]
    assert items[-1]["actor"]["role"] is None


def test_filters_and_cursor_pagination(client: TestClient, db: Session, people: People) -> None:
    first, second = new_case(client, people), new_case(client, people)
    for _ in range(3):
        client.get(f"{API}/cases/{first}", headers=people.h["caseworker"])
    client.get(f"{API}/cases/{second}", headers=people.h["supervisor"])
    auditor = people.h["auditor"]

    reads = all_events(client, auditor, case_id=first, action="case.read", limit=2)
    assert len(reads) == 3
    assert all(i["case_id"] == first and i["action"] == "case.read" for i in reads)
    assert [i["seq"] for i in reads] == sorted(i["seq"] for i in reads)

    by_supervisor = all_events(client, auditor, actor_id=str(people.supervisor.id))
    assert [i["case_id"] for i in by_supervisor] == [second]

    everything = all_events(client, auditor, limit=3)
    seqs = [i["seq"] for i in everything]
    assert seqs == sorted(set(seqs)) and len(seqs) >= 7

    # `since`: push the earlier events back in time, as DBA, then filter.
    middle = seqs[len(seqs) // 2]
    savepoint = db.begin_nested()
    _shift_before(db, middle, timedelta(days=2))
    since = (utcnow() - timedelta(days=1)).isoformat()
    recent = all_events(client, auditor, since=since)
    assert recent and min(i["seq"] for i in recent) == middle
    savepoint.rollback()


def _shift_before(db: Session, seq: int, by: timedelta) -> None:
    from sqlalchemy import text

    if is_postgres():
        db.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        db.execute(text("DROP TRIGGER audit_events_no_update"))
    for event in db.scalars(select(AuditEvent).where(AuditEvent.seq < seq)).all():
        db.execute(update(AuditEvent).where(AuditEvent.seq == event.seq).values(at=event.at - by))


def test_reading_and_verifying_the_log_are_audited(client: TestClient, people: People) -> None:
    auditor = people.h["auditor"]
    case_id = str(uuid.uuid4())
    assert (
        client.get(f"{API}/audit/events", params={"case_id": case_id}, headers=auditor).status_code
        == 200
    )
    verified = client.get(f"{API}/audit/verify", headers=auditor)
    assert verified.status_code == 200
    report = verified.json()
    assert report["valid"] is True and report["first_invalid_seq"] is None
    assert report["events_checked"] >= 1
    mine = all_events(client, auditor, actor_id=str(people.auditor.id))
    actions = [i["action"] for i in mine]
    assert actions[:2] == ["audit.read", "audit.verify"]
    assert mine[0]["detail"]["case_id"] == case_id
    assert mine[0]["case_id"] is None  # reading the log is not an access to the case
    assert mine[1]["detail"]["valid"] is True
    again = client.get(f"{API}/audit/verify", headers=auditor).json()
    assert again["events_checked"] > report["events_checked"]


@pytest.mark.parametrize("who", ["caseworker", "supervisor", "admin"])
def test_only_auditors_read_the_log_and_the_refusal_is_recorded(
    client: TestClient, people: People, who: str
) -> None:
    for path in ("/audit/events", "/audit/verify"):
        refused = client.get(f"{API}{path}", headers=people.h[who])
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
    denied = all_events(client, people.h["auditor"], action="audit.read")
    assert [(d["outcome"], d["actor"]["id"]) for d in denied] == [
        ("denied", str(getattr(people, who).id))
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"cursor": "abc"},
        {"action": "case.read; drop"},
        {"case_id": "not-a-uuid"},
        {"since": "yesterday"},
    ],
)
def test_bad_queries_are_422_naming_the_field(
    client: TestClient, people: People, query: dict[str, str]
) -> None:
    answer = client.get(f"{API}/audit/events", params=query, headers=people.h["auditor"])
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"][-1] == next(iter(query))


def test_the_case_access_log_shows_who_read_or_changed_the_case(
    client: TestClient, people: People
) -> None:
    case_id = new_case(client, people)
    client.get(f"{API}/cases/{case_id}", headers=people.h["caseworker"])
    client.get(f"{API}/cases/{case_id}", headers=people.h["supervisor"])
    assert (
        client.get(f"{API}/cases/{case_id}", headers=people.h["other_supervisor"]).status_code
        == 404
    )
    log = client.get(f"{API}/cases/{case_id}/access-log", headers=people.h["supervisor"])
    assert log.status_code == 200, log.text
    rows = [(i["action"], i["actor"]["id"], i["outcome"]) for i in log.json()["items"]]
    assert rows == [
        ("case.create", str(people.caseworker.id), "success"),
        ("case.read", str(people.caseworker.id), "success"),
        ("case.read", str(people.supervisor.id), "success"),
        ("case.read", str(people.other_supervisor.id), "denied"),
    ]
    page = client.get(
        f"{API}/cases/{case_id}/access-log", params={"limit": 2}, headers=people.h["supervisor"]
    ).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    # The supervisor's reading of the log is itself in the log of the case.
    later = all_events(client, people.h["auditor"], case_id=case_id, action="case.access_log")
    assert [i["actor"]["id"] for i in later] == [str(people.supervisor.id)] * 2


def test_the_access_log_shows_the_lists_that_returned_the_case(
    client: TestClient, people: People
) -> None:
    """A list writes one event for its whole page; each listed case's access log finds it
    (through the `audit_event_cases` index) without showing the other cases of the page."""
    case_id = new_case(client, people)
    other_id = new_case(client, people)
    listed = client.get(f"{API}/cases", headers=people.h["caseworker"])
    assert {case_id, other_id} <= {i["id"] for i in listed.json()["items"]}
    client.get(f"{API}/cases", params={"limit": 1}, headers=people.h["caseworker"])  # other only
    log = client.get(f"{API}/cases/{case_id}/access-log", headers=people.h["supervisor"]).json()
    lists = [i for i in log["items"] if i["action"] == "case.list"]
    assert [(i["actor"]["id"], i["outcome"]) for i in lists] == [
        (str(people.caseworker.id), "success")
    ]
    assert "case_ids" not in lists[0]["detail"] and lists[0]["detail"]["count"] >= 2
    other_log = client.get(
        f"{API}/cases/{other_id}/access-log", headers=people.h["supervisor"]
    ).json()
    assert len([i for i in other_log["items"] if i["action"] == "case.list"]) == 2
    # The auditor sees the one event with every id it named.
    event = all_events(client, people.h["auditor"], action="case.list")[0]
    assert {case_id, other_id} <= set(event["detail"]["case_ids"])


def test_the_access_log_is_404_outside_the_agency_and_403_for_other_roles(
    client: TestClient, people: People
) -> None:
    case_id = new_case(client, people)
    assert (
        client.get(
            f"{API}/cases/{case_id}/access-log", headers=people.h["other_supervisor"]
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"{API}/cases/{uuid.uuid4()}/access-log", headers=people.h["supervisor"]
        ).status_code
        == 404
    )
    for who in ("caseworker", "auditor", "admin"):
        answer = client.get(f"{API}/cases/{case_id}/access-log", headers=people.h[who])
        assert answer.status_code == 403, who


def test_an_erased_case_has_no_access_log(client: TestClient, people: People) -> None:
    case_id = new_case(client, people)
    erased = client.request(
        "DELETE",
        f"{API}/cases/{case_id}",
        json={"reason": "duplicate record"},
        headers=people.h["supervisor"],
    )
    assert erased.status_code == 204, erased.text
    gone = client.get(f"{API}/cases/{case_id}/access-log", headers=people.h["supervisor"])
    assert gone.status_code == 404
    # The auditor still sees every event about it, the erasure included.
    actions = [i["action"] for i in all_events(client, people.h["auditor"], case_id=case_id)]
    assert "case.erase" in actions and actions[0] == "case.create"


def test_auditors_page_past_events_written_by_operator_commands(
    client: TestClient, people: People, db: Session, runtime: Runtime
) -> None:
    """`haven reset-password`, `haven keys rotate` and `keys retire` act as the `system` actor
    (an operator, not an API caller); a page holding their events must still be served."""
    operator_reset_password(db, username=people.caseworker.username, password="a new passphrase 7")
    db.commit()
    rotate(runtime.session_factory, runtime.keyring)
    assert retire_old_versions(runtime.session_factory, runtime.keyring) == [1]
    operator_actions = {"user.reset_password", "keys.kek_added", "keys.rotated", "keys.kek_retired"}

    head = db.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    seen: list[dict[str, Any]] = []
    cursor = None
    # One event per page, so every page holding an operator's event is served; each page read
    # adds an `audit.read` event, so the walk stops at the head it started from.
    while not seen or seen[-1]["seq"] < head:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/audit/events", params=params, headers=people.h["auditor"])
        assert page.status_code == 200, page.text
        seen.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
    by_operator = [e for e in seen if e["actor"]["type"] == "system"]
    assert {e["action"] for e in by_operator} == operator_actions
    for event in by_operator:
        assert event["actor"] == {
            "type": "system",
            "id": None,
            "role": None,
            "scopes": None,
            "agency_id": None,
        }
    assert [e["seq"] for e in seen] == sorted(e["seq"] for e in seen)
