"""Two-person account changes, through HTTP.

An agency admin who creates, promotes or resets an account that reads case content knows its
password; without a second person that admin could log in as it and read the agency's cases.
The two paths a review of Haven walked are reproduced here and shown closed; then who may
approve, what a system admin's change does, listing, and the audit trail."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from models.audit import AuditEvent
from models.identity import Agency, User
from services.config import Settings
from services.crypto import totp
from services.policy import Role
from services.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import (
    API,
    TEST_PASSWORD,
    case_body,
    make_agency,
    make_case,
    make_user,
    user_headers,
)

LOGIN = f"{API}/auth/login"
CHOSEN = "the admin chose this passphrase"


def login(client: TestClient, username: str, password: str) -> Any:
    return client.post(LOGIN, json={"username": username, "password": password})


def bearer(response: Any) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def events(db: Session, action: str) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        ).all()
    )


def new_account(
    client: TestClient, admin: dict[str, str], agency: Agency, role: str, username: str
) -> Any:
    return client.post(
        f"{API}/users",
        json={
            "username": username,
            "password": CHOSEN,
            "role": role,
            "agency_id": str(agency.id),
        },
        headers=admin,
    )


@pytest.fixture
def mfa_client(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Supervisors must have a second factor: a first login gets an enrolment-only token."""
    settings = make_settings(
        runtime.settings.database_url,
        tmp_path_factory.mktemp("mfa"),
        mfa_required_roles="supervisor",
        key_file=runtime.settings.key_file,
    )
    strict = Runtime(
        settings=settings,
        engine=runtime.engine,
        session_factory=runtime.session_factory,
        keyring=runtime.keyring,
    )
    with TestClient(create_app(runtime=strict), raise_server_exceptions=False) as http:
        yield http


# --- the paths the review found -----------------------------------------------------------


@pytest.mark.parametrize("mfa_required", [False, True], ids=["mfa-optional", "mfa-required"])
def test_an_agency_admin_cannot_create_a_supervisor_and_read_cases_as_it(
    client: TestClient,
    mfa_client: TestClient,
    db: Session,
    settings: Settings,
    runtime: Runtime,
    mfa_required: bool,
) -> None:
    http = mfa_client if mfa_required else client
    agency = make_agency(db)
    caseworker = make_user(db, agency, Role.CASEWORKER)
    case_id = make_case(db, runtime.keyring, settings, caseworker, case_body())
    admin = user_headers(db, make_user(db, agency, Role.AGENCY_ADMIN), settings)
    created = new_account(http, admin, agency, "supervisor", "puppet")
    assert created.status_code == 201, created.text
    assert created.json()["pending_approval"] is True
    # The admin knows the password, but logging in as the new supervisor is refused exactly
    # like a wrong password: no token, so no enrolment-only token to bind a second factor
    # with, and no case list.
    attempt = login(http, "puppet", CHOSEN)
    wrong = login(http, "puppet", "not the passphrase at all")
    assert attempt.status_code == wrong.status_code == 401
    assert attempt.json()["detail"] == wrong.json()["detail"]
    assert "access_token" not in attempt.text
    [refusal] = events(db, "auth.login_pending_approval")
    assert refusal.outcome == "denied"
    assert refusal.resource_id == created.json()["id"]
    assert events(db, "case.read") == [] and events(db, "case.list") == []
    # A supervisor of the agency approves: now the account works as any other.
    approver = user_headers(db, make_user(db, agency, Role.SUPERVISOR), settings)
    approved = http.post(f"{API}/users/{created.json()['id']}/approve", headers=approver)
    assert approved.status_code == 200 and approved.json()["pending_approval"] is False
    token = bearer(login(http, "puppet", CHOSEN))
    if mfa_required:
        # Even the enrolment-only token binds no authenticator without the password.
        bare = http.post(f"{API}/auth/mfa/enrol", headers=token)
        assert bare.status_code == 422
        assert bare.json()["errors"][0]["loc"] == ["body", "password"]
        enrolled = http.post(f"{API}/auth/mfa/enrol", json={"password": CHOSEN}, headers=token)
        secret = base64.b32decode(enrolled.json()["secret"])
        code = totp.code_at(secret, totp.time_step(time.time()))
        http.post(f"{API}/auth/mfa/confirm", json={"code": code}, headers=token)
    assert http.get(f"{API}/cases/{case_id}", headers=token).status_code == 200


def test_an_agency_admin_cannot_reset_a_caseworkers_password_and_log_in_with_it(
    client: TestClient, db: Session, settings: Settings, runtime: Runtime
) -> None:
    agency = make_agency(db)
    worker = make_user(db, agency, Role.CASEWORKER, username="amal")
    case_id = make_case(db, runtime.keyring, settings, worker, case_body())
    admin = user_headers(db, make_user(db, agency, Role.AGENCY_ADMIN), settings)
    reset = client.post(f"{API}/users/{worker.id}/reset-password", headers=admin)
    assert reset.status_code == 200
    temporary = reset.json()["temporary_password"]
    refused = login(client, "amal", temporary)
    assert refused.status_code == 401
    assert refused.json()["detail"] == login(client, "amal", "no such passphrase!").json()["detail"]
    [refusal] = events(db, "auth.login_pending_approval")
    assert refusal.resource_id == str(worker.id) and refusal.actor_type == "anonymous"
    [reset_event] = events(db, "user.reset_password")
    assert json.loads(reset_event.detail or "{}")["pending_approval"] is True
    listed = client.get(f"{API}/users/{worker.id}", headers=admin).json()
    assert listed["pending_approval"] is True
    # Approved by the agency's supervisor: the worker (who was told the password) gets in and
    # must choose a new password first.
    approver = user_headers(db, make_user(db, agency, Role.SUPERVISOR), settings)
    assert client.post(f"{API}/users/{worker.id}/approve", headers=approver).status_code == 200
    token = login(client, "amal", temporary)
    assert token.json()["restricted_to"] == ["password.change"]
    assert client.get(f"{API}/cases/{case_id}", headers=bearer(token)).status_code == 403


def test_an_agency_admin_promoting_into_case_work_needs_approval(
    client: TestClient, db: Session, settings: Settings
) -> None:
    agency = make_agency(db)
    admin = user_headers(db, make_user(db, agency, Role.AGENCY_ADMIN), settings)
    colleague = make_user(db, agency, Role.AGENCY_ADMIN, username="colleague")
    worker = make_user(db, agency, Role.CASEWORKER, username="worker")
    promoted = client.patch(
        f"{API}/users/{colleague.id}", json={"role": "caseworker"}, headers=admin
    )
    assert promoted.json()["pending_approval"] is True
    assert login(client, "colleague", TEST_PASSWORD).status_code == 401
    upward = client.patch(f"{API}/users/{worker.id}", json={"role": "supervisor"}, headers=admin)
    assert upward.json()["pending_approval"] is True
    assert login(client, "worker", TEST_PASSWORD).status_code == 401
    # Into a role that reads no case content: nothing to approve.
    other = make_user(db, agency, Role.CASEWORKER, username="other")
    away = client.patch(f"{API}/users/{other.id}", json={"role": "agency_admin"}, headers=admin)
    assert away.json()["pending_approval"] is False
    assert login(client, "other", TEST_PASSWORD).status_code == 200


def test_a_system_admins_changes_take_effect_at_once(
    client: TestClient, db: Session, settings: Settings
) -> None:
    agency = make_agency(db)
    root = user_headers(db, make_user(db, make_agency(db), Role.SYSTEM_ADMIN), settings)
    created = new_account(client, root, agency, "supervisor", "direct")
    assert created.json()["pending_approval"] is False
    assert login(client, "direct", CHOSEN).status_code == 200
    worker = make_user(db, agency, Role.CASEWORKER, username="amal")
    reset = client.post(f"{API}/users/{worker.id}/reset-password", headers=root)
    assert login(client, "amal", reset.json()["temporary_password"]).status_code == 200
    promoted = client.patch(f"{API}/users/{worker.id}", json={"role": "supervisor"}, headers=root)
    assert promoted.json()["pending_approval"] is False
    [event] = events(db, "user.create")
    assert json.loads(event.detail or "{}")["pending_approval"] is False


# --- who approves -----------------------------------------------------------------------------


def test_who_may_approve(client: TestClient, db: Session, settings: Settings) -> None:
    agency, elsewhere = make_agency(db), make_agency(db)
    admin = user_headers(db, make_user(db, agency, Role.AGENCY_ADMIN), settings)
    pending = new_account(client, admin, agency, "caseworker", "waiting").json()
    url = f"{API}/users/{pending['id']}/approve"
    supervisor = make_user(db, agency, Role.SUPERVISOR)
    answers = {
        "the agency admin who made it": client.post(url, headers=admin).status_code,
        "a caseworker": client.post(
            url, headers=user_headers(db, make_user(db, agency, Role.CASEWORKER), settings)
        ).status_code,
        "an auditor": client.post(
            url, headers=user_headers(db, make_user(db, agency, Role.AUDITOR), settings)
        ).status_code,
        "another agency's supervisor": client.post(
            url, headers=user_headers(db, make_user(db, elsewhere, Role.SUPERVISOR), settings)
        ).status_code,
        "an unknown account": client.post(
            f"{API}/users/{uuid.uuid4()}/approve",
            headers=user_headers(db, supervisor, settings),
        ).status_code,
        "itself (a supervisor)": client.post(
            f"{API}/users/{supervisor.id}/approve", headers=user_headers(db, supervisor, settings)
        ).status_code,
    }
    assert answers == {
        "the agency admin who made it": 403,
        "a caseworker": 403,
        "an auditor": 403,
        "another agency's supervisor": 404,
        "an unknown account": 404,
        "itself (a supervisor)": 403,
    }
    assert db.get(User, uuid.UUID(pending["id"])).pending_approval  # type: ignore[union-attr]
    ok = client.post(url, headers=user_headers(db, supervisor, settings))
    assert ok.status_code == 200
    again = client.post(url, headers=user_headers(db, supervisor, settings))
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    approvals = events(db, "user.approve")
    # Every refused attempt is on the record too, under the same action (the 409 included).
    assert [e.outcome for e in approvals].count("denied") == len(answers) + 1
    [approval] = [e for e in approvals if e.outcome == "success"]
    assert approval.actor_id == supervisor.id
    assert approval.resource_id == pending["id"]
    root = user_headers(db, make_user(db, make_agency(db), Role.SYSTEM_ADMIN), settings)
    other = new_account(client, admin, agency, "supervisor", "waiting2").json()
    assert client.post(f"{API}/users/{other['id']}/approve", headers=root).status_code == 200


def test_a_pending_account_has_no_working_token(
    client: TestClient, db: Session, settings: Settings
) -> None:
    agency = make_agency(db)
    worker = make_user(db, agency, Role.CASEWORKER)
    headers = user_headers(db, worker, settings)
    worker.pending_approval = True
    db.flush()
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 401
    assert client.get(f"{API}/cases", headers=headers).status_code == 401


def test_accounts_waiting_for_approval_are_listed_for_those_who_approve(
    client: TestClient, db: Session, settings: Settings
) -> None:
    agency, elsewhere = make_agency(db), make_agency(db)
    admin = user_headers(db, make_user(db, agency, Role.AGENCY_ADMIN), settings)
    other_admin = user_headers(db, make_user(db, elsewhere, Role.AGENCY_ADMIN), settings)
    mine = new_account(client, admin, agency, "caseworker", "mine-waiting").json()
    theirs = new_account(client, other_admin, elsewhere, "caseworker", "theirs-waiting").json()
    make_user(db, agency, Role.CASEWORKER, username="mine-settled")

    def names(headers: dict[str, str], **query: str) -> set[str]:
        response = client.get(f"{API}/users", params=query, headers=headers)
        assert response.status_code == 200, response.text
        return {item["username"] for item in response.json()["items"]}

    assert names(admin, pending_approval="true") == {mine["username"]}
    assert "mine-settled" in names(admin, pending_approval="false")
    assert mine["username"] not in names(admin, pending_approval="false")
    supervisor = user_headers(db, make_user(db, agency, Role.SUPERVISOR), settings)
    # A supervisor sees its agency's waiting accounts only, whatever the filter says.
    assert names(supervisor) == {mine["username"]}
    assert names(supervisor, pending_approval="false") == set()
    root = user_headers(db, make_user(db, make_agency(db), Role.SYSTEM_ADMIN), settings)
    assert {mine["username"], theirs["username"]} <= names(root, pending_approval="true")
    worker = user_headers(db, make_user(db, agency, Role.CASEWORKER), settings)
    assert client.get(f"{API}/users", headers=worker).status_code == 403
