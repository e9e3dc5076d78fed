"""End to end with real commits (a freshly migrated database, the app on it):

- a refused request is in the log although its own transaction rolled back;
- a successful change and its audit row commit together or not at all;
- no audit row, log line or error body ever holds a sensitive value (marker strings sent
  through every route that takes one; add a scenario to `SCENARIOS` for each new route).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from api.app import create_app
from models.audit import AuditEvent
from models.identity import Agency, User
from services.audit import log as audit_log
from services.audit.verify import verify_log
from services.policy import Role
from services.runtime import Runtime
from tests.factories import (
    API,
    client_headers,
    make_agency,
    make_api_client,
    make_user,
    user_headers,
)
from tests.referrals_support import case_body, referral_body


@dataclass
class Live:
    runtime: Runtime
    http: TestClient
    agency: Agency
    partner: Agency
    users: dict[str, User]
    h: dict[str, dict[str, str]]
    responses: list[httpx.Response] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def call(self, method: str, path: str, who: str | None, **kwargs: Any) -> httpx.Response:
        headers = {**(self.h[who] if who else {}), **kwargs.pop("headers", {})}
        response: httpx.Response = self.http.request(
            method, f"{API}{path}", headers=headers, **kwargs
        )
        self.responses.append(response)
        return response

    def events(self, **where: Any) -> list[AuditEvent]:
        with self.runtime.session_factory() as session:
            query = select(AuditEvent).order_by(AuditEvent.seq)
            for name, value in where.items():
                query = query.where(getattr(AuditEvent, name) == value)
            return list(session.scalars(query))


@pytest.fixture
def live(fresh_runtime: Runtime) -> Iterator[Live]:
    settings = fresh_runtime.settings
    with fresh_runtime.session_factory() as db, db.begin():
        agency, partner = make_agency(db), make_agency(db)
        users = {
            "caseworker": make_user(db, agency, Role.CASEWORKER),
            "supervisor": make_user(db, agency, Role.SUPERVISOR),
            "admin": make_user(db, agency, Role.AGENCY_ADMIN),
            "auditor": make_user(db, agency, Role.AUDITOR),
            "outsider": make_user(db, partner, Role.CASEWORKER),
        }
        headers = {name: user_headers(db, user, settings) for name, user in users.items()}
        client = make_api_client(db, partner)
        headers["partner"] = client_headers(db, client, settings)
    app = create_app(runtime=fresh_runtime)
    # Some tests here make the server fail on purpose and check the 500 and its audit trail.
    with TestClient(app, raise_server_exceptions=False) as http:
        yield Live(fresh_runtime, http, agency, partner, users, headers)


def _verify(live: Live) -> None:
    with live.runtime.engine.connect() as connection:
        report = verify_log(connection, live.runtime.settings, live.runtime.keyring)
    assert report.valid, report.reason


# --- refusals survive their request's rollback ------------------------------------------------


def test_refused_requests_are_in_the_log_although_they_failed(live: Live) -> None:
    created = live.call("POST", "/cases", "caseworker", json=case_body())
    assert created.status_code == 201
    case_id = uuid.UUID(created.json()["id"])

    assert live.call("GET", f"/cases/{case_id}", "outsider").status_code == 404
    assert live.call("GET", "/audit/events", "caseworker").status_code == 403
    assert (
        live.call("GET", "/cases", None, headers={"Authorization": "Bearer hvn_nope"}).status_code
        == 401
    )

    denied = live.events(outcome="denied")
    assert [(e.action, e.actor_type) for e in denied] == [
        ("case.read", "user"),
        ("audit.read", "user"),
        ("auth.token_rejected", "anonymous"),
    ]
    read = denied[0]
    assert (read.case_id, read.actor_id, read.resource_id) == (
        case_id,
        live.users["outsider"].id,
        str(case_id),
    )
    assert json.loads(read.detail or "{}")["status"] == 404
    assert read.request_id and read.client_address
    _verify(live)


# --- a change and its audit row: together or not at all -----------------------------------


def _new_user_body(live: Live) -> dict[str, Any]:
    return {
        "username": f"new-{uuid.uuid4().hex[:8]}",
        "password": "a perfectly long passphrase 42",
        "role": "caseworker",
        "agency_id": str(live.agency.id),
    }


def _users_named(live: Live, username: str) -> int:
    with live.runtime.session_factory() as session:
        return len(session.scalars(select(User).where(User.username == username)).all())


def test_a_change_commits_with_its_audit_row(live: Live) -> None:
    body = _new_user_body(live)
    created = live.call("POST", "/users", "admin", json=body)
    assert created.status_code == 201, created.text
    assert _users_named(live, body["username"]) == 1
    rows = live.events(action="user.create")
    assert [e.resource_id for e in rows] == [created.json()["id"]]
    _verify(live)


def test_when_the_audit_row_cannot_be_written_the_change_is_not_committed(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(values: Any) -> str:  # noqa: ARG001  stands in for the real hook
        raise RuntimeError("the audit chain is unavailable")

    before = len(live.events())
    monkeypatch.setattr(audit_log, "content_prefix", broken)
    body = _new_user_body(live)
    answer = live.call("POST", "/users", "admin", json=body)
    monkeypatch.undo()
    assert answer.status_code == 500
    assert _users_named(live, body["username"]) == 0
    assert len(live.events()) == before


def test_when_the_commit_fails_after_the_audit_row_neither_is_kept(live: Live) -> None:
    chained: list[int] = []

    def fail_after_chaining(session: Session) -> None:
        appended = session.info.get(audit_log.APPENDED_KEY)
        if appended and not chained:
            chained.append(appended[1])  # the audit row is inserted: now the commit fails
            raise RuntimeError("the commit failed")

    before = len(live.events())
    event.listen(Session, "before_commit", fail_after_chaining)
    try:
        body = _new_user_body(live)
        answer = live.call("POST", "/users", "admin", json=body)
    finally:
        event.remove(Session, "before_commit", fail_after_chaining)
    assert answer.status_code == 500
    assert len(chained) == 1
    assert _users_named(live, body["username"]) == 0
    # The request's own event is gone with its work; the failure is recorded on its own.
    [failure] = live.events()[before:]
    assert (failure.action, failure.outcome) == ("user.create", "error")
    assert failure.resource_id is None and '"status": 500' in (failure.detail or "")
    _verify(live)


# --- no sensitive value in the log, the logs or an error -----------------------------------

MARK = "MKsecret"
"""Every sensitive value below contains this; none may appear in what is scanned."""


def _login_scenarios(live: Live) -> None:
    user = live.users["caseworker"]
    live.call(
        "POST",
        "/auth/login",
        None,
        json={"username": user.username, "password": f"{MARK}-wrong-password"},
    )
    live.call(
        "POST",
        "/auth/login",
        None,
        json={"username": f"{MARK}-typed-a-password-as-username", "password": f"{MARK}pw"},
    )
    live.call(
        "POST",
        "/auth/login",
        None,
        json={"username": user.username, "password": f"{MARK}pw", "totp_code": f"{MARK}"},
    )
    live.call(
        "POST",
        "/auth/token",
        None,
        data={
            "grant_type": "client_credentials",
            "client_id": f"{MARK}id",
            "client_secret": f"{MARK}-secret",
        },
    )


def _admin_scenarios(live: Live) -> None:
    live.call(
        "POST",
        "/users",
        "admin",
        json={**_new_user_body(live), "password": f"{MARK} a long enough passphrase"},
    )
    live.call(
        "POST", "/users", "admin", json={**_new_user_body(live), "password": f"{MARK}"}
    )  # too short: 422
    live.call(
        "POST", "/users", "admin", json={**_new_user_body(live), "role": f"{MARK}role"}
    )  # 422


def _marked_case() -> dict[str, Any]:
    body = case_body()
    body["child"]["given_name"] = f"{MARK}given"
    body["child"]["family_name"] = f"{MARK}family"
    body["location"]["address"] = f"{MARK} street 4"
    body["caregivers"][0]["name"] = f"{MARK}caregiver"
    body["narrative"] = f"{MARK} narrative of what happened"
    return body


def _case_scenarios(live: Live) -> None:
    created = live.call("POST", "/cases", "caseworker", json=_marked_case())
    if created.status_code != 201:
        return
    case_id, etag = created.json()["id"], created.headers.get("ETag", '"1"')
    live.extra["case_id"] = case_id
    live.call("GET", f"/cases/{case_id}", "caseworker")
    live.call("GET", f"/cases/{case_id}", "outsider")  # 404
    live.call("GET", "/cases", "caseworker", params={"name": f"{MARK}given"})
    live.call(
        "GET", "/cases", "caseworker", params={"name": f"{MARK}given", "date_of_birth": f"{MARK}"}
    )  # 422
    live.call("GET", "/cases", "outsider", params={"name": f"{MARK}given {MARK}family"})
    live.call(
        "PATCH",
        f"/cases/{case_id}",
        "caseworker",
        json={"narrative": f"{MARK} updated"},
        headers={"If-Match": etag},
    )
    live.call(
        "PATCH",
        f"/cases/{case_id}",
        "caseworker",
        json={"narrative": f"{MARK} stale"},
        headers={"If-Match": '"99"'},
    )
    live.call(
        "PATCH",
        f"/cases/{case_id}",
        "caseworker",
        json={"child": {"sex": f"{MARK}"}},
        headers={"If-Match": '"2"'},
    )
    live.call("POST", f"/cases/{case_id}/notes", "caseworker", json={"text": f"{MARK} note text"})
    live.call("POST", f"/cases/{case_id}/notes", "outsider", json={"text": f"{MARK} note text"})
    live.call("GET", f"/cases/{case_id}/notes", "caseworker")
    live.call(
        "POST", "/cases", "caseworker", json={**_marked_case(), "risk_level": f"{MARK}"}
    )  # 422


def _referral_scenarios(live: Live) -> None:
    case_id = live.extra.get("case_id")
    if case_id is None:
        return
    body = referral_body(live.partner.id, reason=f"{MARK} reason for referral")
    body["consent"]["note"] = f"{MARK} consent note"
    created = live.call("POST", f"/cases/{case_id}/referrals", "caseworker", json=body)
    live.call(
        "POST", f"/cases/{case_id}/referrals", "caseworker", json={**body, "urgency": f"{MARK}"}
    )  # 422
    if created.status_code == 201:
        referral_id = created.json()["id"]
        live.call(
            "POST",
            f"/referrals/{referral_id}/reject",
            "supervisor",
            json={"reason": f"{MARK} rejected"},
        )
        live.call(
            "POST",
            f"/referrals/{referral_id}/decline",
            "partner",
            json={"reason": f"{MARK} declined"},
        )


def _erasure_scenarios(live: Live) -> None:
    case_id = live.extra.get("case_id")
    if case_id is not None:
        live.call(
            "DELETE", f"/cases/{case_id}", "supervisor", json={"reason": f"{MARK} erasure reason"}
        )


SCENARIOS: list[Callable[[Live], None]] = [
    _login_scenarios,
    _admin_scenarios,
    _case_scenarios,
    _referral_scenarios,
    _erasure_scenarios,
]


class _Lines(logging.Handler):
    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("httpx"):
            return  # the test's own HTTP client (it logs URLs); not part of the server
        self.lines.append(self.format(record) + json.dumps(record.__dict__, default=str))


def test_no_sensitive_value_reaches_the_audit_log_a_log_line_or_an_error(live: Live) -> None:
    root = logging.getLogger()
    handler = _Lines(root.handlers[0].formatter if root.handlers else None)
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        for scenario in SCENARIOS:
            scenario(live)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)

    statuses = [r.status_code for r in live.responses]
    assert 201 in statuses and 422 in statuses and 404 in statuses and 401 in statuses
    assert "case_id" in live.extra, "the case scenarios ran"
    assert live.responses[-1].status_code == 204, "the erasure ran"

    errors = [r for r in live.responses if r.status_code >= 400]
    leaked = [
        (r.request.method, str(r.request.url.path), r.status_code) for r in errors if MARK in r.text
    ]
    assert leaked == []
    assert [line for line in handler.lines if MARK in line] == []
    events = live.events()
    recorded = {e.action for e in events}
    assert {
        "auth.login_failed",
        "user.create",
        "case.create",
        "case.read",
        "case.search",
        "case.update",
        "note.create",
        "referral.create",
        "referral.reject",
        "case.erase",
    } <= recorded
    for row in events:
        stored = {c.name: getattr(row, c.name) for c in AuditEvent.__table__.columns}
        assert MARK not in json.dumps(stored, default=str), row.action
    _verify(live)
