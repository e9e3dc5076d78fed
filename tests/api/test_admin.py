"""Administration through HTTP: agencies, users, API clients; agency admins stay in their agency;
no secret is ever stored in the clear."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import LargeBinary, String, Text, select
from sqlalchemy.orm import Session

from models.all import metadata
from models.audit import AuditEvent
from models.identity import Agency, User
from services.config import Settings
from services.crypto import totp
from services.policy import Role
from tests.factories import (
    API,
    TEST_PASSWORD,
    make_agency,
    make_api_client,
    make_user,
    user_headers,
)

PROBLEM = "application/problem+json"
PASSPHRASE = "a perfectly fine passphrase"


def audit_actions(db: Session) -> list[tuple[str, str | None, str]]:
    rows = db.execute(
        select(AuditEvent.action, AuditEvent.resource_id, AuditEvent.outcome).order_by(
            AuditEvent.seq
        )
    )
    return [(a, r, o) for a, r, o in rows]


@pytest.fixture
def system_admin(db: Session, settings: Settings) -> dict[str, str]:
    system = make_agency(db, "System")
    return user_headers(db, make_user(db, system, Role.SYSTEM_ADMIN), settings)


# --- agencies ------------------------------------------------------------------------------


def test_agencies_are_created_once_and_listed_in_pages(
    client: TestClient, db: Session, system_admin: dict[str, str]
) -> None:
    names = ["Tracing Unit", "Bright Futures", "Shelter Network"]
    for name in names:
        created = client.post(f"{API}/agencies", json={"name": name}, headers=system_admin)
        assert created.status_code == 201
        assert created.json()["name"] == name
    duplicate = client.post(
        f"{API}/agencies", json={"name": "  Tracing   Unit "}, headers=system_admin
    )
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == PROBLEM
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/agencies", params=params, headers=system_admin).json()
        seen.extend(item["name"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and set(names) <= set(seen) and "System" in seen
    created_ids = [r for a, r, o in audit_actions(db) if a == "agency.create" and o == "success"]
    assert len(created_ids) == 3 and None not in created_ids
    # The refused duplicate leaves its own trace.
    assert [o for a, _, o in audit_actions(db) if a == "agency.create"].count("denied") == 1


def test_agency_input_is_validated(client: TestClient, system_admin: dict[str, str]) -> None:
    for body in ({"name": ""}, {"name": "x" * 201}, {"name": "A", "extra": 1}, {}):
        response = client.post(f"{API}/agencies", json=body, headers=system_admin)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == PROBLEM
    blank = client.post(f"{API}/agencies", json={"name": "   "}, headers=system_admin)
    assert blank.status_code == 422
    bad_cursor = client.get(f"{API}/agencies", params={"cursor": "!!!"}, headers=system_admin)
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["errors"][0]["loc"] == ["query", "cursor"]
    assert (
        client.get(f"{API}/agencies", params={"limit": 201}, headers=system_admin).status_code
        == 422
    )


# --- users ---------------------------------------------------------------------------------


def test_a_system_admin_creates_users_in_any_agency(
    client: TestClient, db: Session, system_admin: dict[str, str]
) -> None:
    agency = make_agency(db)
    response = client.post(
        f"{API}/users",
        json={
            "username": "Amal.Haddad",
            "password": PASSPHRASE,
            "role": "caseworker",
            "agency_id": str(agency.id),
        },
        headers=system_admin,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "amal.haddad"
    assert body["role"] == "caseworker" and body["agency_id"] == str(agency.id)
    # As the contract has it, a created user can work at once; handing over a password the
    # user must replace is opt-in (`must_change_password: true`).
    assert body["must_change_password"] is False and body["is_active"] is True
    assert PASSPHRASE not in response.text
    taken = client.post(
        f"{API}/users",
        json={
            "username": "AMAL.HADDAD",
            "password": PASSPHRASE,
            "role": "supervisor",
            "agency_id": str(agency.id),
        },
        headers=system_admin,
    )
    assert taken.status_code == 409
    event, refused = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.create").order_by(AuditEvent.seq)
    ).all()
    assert event.resource_id == body["id"] and PASSPHRASE not in (event.detail or "")
    assert refused.outcome == "denied" and PASSPHRASE not in (refused.detail or "")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"password": "too short"}, "password"),
        ({"password": "1qaz2wsx3edc"}, "password"),
        ({"password": "y" * 129}, "password"),
        ({"role": "overlord"}, "role"),
        ({"username": "has space"}, "username"),
        ({"agency_id": "00000000-0000-0000-0000-000000000000"}, "agency_id"),
        ({"agency_id": "not-a-uuid"}, "agency_id"),
    ],
)
def test_user_input_problems_name_the_field(
    client: TestClient,
    db: Session,
    system_admin: dict[str, str],
    change: dict[str, str],
    field: str,
) -> None:
    agency = make_agency(db)
    body = {
        "username": "someone",
        "password": PASSPHRASE,
        "role": "caseworker",
        "agency_id": str(agency.id),
        **change,
    }
    response = client.post(f"{API}/users", json=body, headers=system_admin)
    assert response.status_code == 422
    assert ["body", field] in [e["loc"][:2] for e in response.json()["errors"]]
    assert db.scalars(select(User).where(User.username == "someone")).first() is None


def test_a_64_character_password_is_accepted(
    client: TestClient, db: Session, system_admin: dict[str, str]
) -> None:
    agency = make_agency(db)
    response = client.post(
        f"{API}/users",
        json={
            "username": "long.pass",
            "password": "p" * 40 + " and then some more!!!!",
            "role": "auditor",
            "agency_id": str(agency.id),
        },
        headers=system_admin,
    )
    assert response.status_code == 201, response.text


def test_an_agency_admin_is_confined_to_its_agency(
    client: TestClient, db: Session, settings: Settings
) -> None:
    home, other = make_agency(db), make_agency(db)
    admin = user_headers(db, make_user(db, home, Role.AGENCY_ADMIN), settings)
    mine = make_user(db, home, Role.CASEWORKER)
    theirs = make_user(db, other, Role.CASEWORKER)
    their_client = make_api_client(db, other)
    my_client = make_api_client(db, home)

    listed = client.get(f"{API}/users", headers=admin).json()["items"]
    assert {u["agency_id"] for u in listed} == {str(home.id)}
    assert str(mine.id) in [u["id"] for u in listed]
    # Filtering by another agency shows nothing rather than its users.
    filtered = client.get(f"{API}/users", params={"agency_id": str(other.id)}, headers=admin)
    assert filtered.json()["items"] == []

    assert client.get(f"{API}/users/{mine.id}", headers=admin).status_code == 200
    for method, path, body in [
        ("GET", f"{API}/users/{theirs.id}", None),
        ("PATCH", f"{API}/users/{theirs.id}", {"is_active": False}),
        ("POST", f"{API}/users/{theirs.id}/reset-password", None),
        ("DELETE", f"{API}/api-clients/{their_client.id}", None),
    ]:
        response = client.request(method, path, json=body, headers=admin)
        assert response.status_code == 404, (method, path)
        assert response.headers["content-type"] == PROBLEM
    db.refresh(theirs)
    assert theirs.is_active is True

    clients = client.get(f"{API}/api-clients", headers=admin).json()["items"]
    assert [c["id"] for c in clients] == [str(my_client.id)]

    creations: list[tuple[str, dict[str, Any]]] = [
        (
            f"{API}/users",
            {
                "username": "intruder",
                "password": PASSPHRASE,
                "role": "caseworker",
                "agency_id": str(other.id),
            },
        ),
        (
            f"{API}/api-clients",
            {"agency_id": str(other.id), "name": "X", "scopes": ["referrals:read"]},
        ),
    ]
    for path, body in creations:
        assert client.post(path, json=body, headers=admin).status_code == 403
    # Nor may it hand out roles above its own.
    for role in ("system_admin", "auditor"):
        response = client.post(
            f"{API}/users",
            json={
                "username": f"new-{role}",
                "password": PASSPHRASE,
                "role": role,
                "agency_id": str(home.id),
            },
            headers=admin,
        )
        assert response.status_code == 403
    denied = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert len(denied) >= 4  # the 404s above are audited refusals


def test_an_agency_admin_cannot_touch_a_system_admin_of_its_agency(
    client: TestClient, db: Session, settings: Settings
) -> None:
    home = make_agency(db)
    admin = user_headers(db, make_user(db, home, Role.AGENCY_ADMIN), settings)
    root = make_user(db, home, Role.SYSTEM_ADMIN)
    for method, path, body in [
        ("PATCH", f"{API}/users/{root.id}", {"is_active": False}),
        ("POST", f"{API}/users/{root.id}/reset-password", None),
    ]:
        assert client.request(method, path, json=body, headers=admin).status_code == 403


def test_no_one_deactivates_themselves(client: TestClient, db: Session, settings: Settings) -> None:
    home = make_agency(db)
    me = make_user(db, home, Role.AGENCY_ADMIN)
    headers = user_headers(db, me, settings)
    response = client.patch(f"{API}/users/{me.id}", json={"is_active": False}, headers=headers)
    assert response.status_code == 409
    empty = client.patch(f"{API}/users/{me.id}", json={}, headers=headers)
    assert empty.status_code == 422


def test_role_changes_and_deactivation_are_audited_by_field_name(
    client: TestClient, db: Session, settings: Settings
) -> None:
    home = make_agency(db)
    headers = user_headers(db, make_user(db, home, Role.AGENCY_ADMIN), settings)
    worker = make_user(db, home, Role.CASEWORKER)
    response = client.patch(
        f"{API}/users/{worker.id}",
        json={"role": "supervisor", "is_active": False},
        headers=headers,
    )
    assert response.status_code == 200
    assert response.json()["role"] == "supervisor" and response.json()["is_active"] is False
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.update")).one()
    assert json.loads(event.fields or "[]") == ["is_active", "role"]


def test_a_role_change_ends_every_live_token_of_the_user(
    client: TestClient, db: Session, settings: Settings
) -> None:
    system = user_headers(db, make_user(db, make_agency(db), Role.SYSTEM_ADMIN), settings)
    worker = make_user(db, make_agency(db), Role.CASEWORKER)
    tokens = [user_headers(db, worker, settings) for _ in range(2)]
    assert all(client.get(f"{API}/auth/me", headers=t).status_code == 200 for t in tokens)
    changed = client.patch(f"{API}/users/{worker.id}", json={"role": "auditor"}, headers=system)
    assert changed.status_code == 200, changed.text
    for headers in tokens:
        assert client.get(f"{API}/auth/me", headers=headers).status_code == 401
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.update")).one()
    detail = json.loads(event.detail or "{}")
    assert detail["role"] == {"from": "caseworker", "to": "auditor"}
    assert detail["tokens_revoked"] == 2
    # Sending the role it already has changes nothing, so it ends nothing.
    fresh = user_headers(db, worker, settings)
    same = client.patch(f"{API}/users/{worker.id}", json={"role": "auditor"}, headers=system)
    assert same.status_code == 200
    assert client.get(f"{API}/auth/me", headers=fresh).status_code == 200


# --- nothing in the clear ---------------------------------------------------------------------


def _text_and_blob_values(db: Session) -> list[str | bytes]:
    values: list[str | bytes] = []
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text, LargeBinary))]
        if not columns:
            continue
        for row in db.execute(select(*columns)):
            values.extend(v for v in row if v is not None)
    return values


def test_a_database_dump_holds_no_password_token_secret_or_code_in_the_clear(
    client: TestClient, db: Session, system_admin: dict[str, str]
) -> None:
    agency = client.post(f"{API}/agencies", json={"name": "Dump Test"}, headers=system_admin)
    agency_id = agency.json()["id"]
    password = "marker passphrase 7Q2xZ"
    user = client.post(
        f"{API}/users",
        json={
            "username": "dumptest",
            "password": password,
            "role": "caseworker",
            "agency_id": agency_id,
            "must_change_password": False,
        },
        headers=system_admin,
    ).json()
    partner = client.post(
        f"{API}/api-clients",
        json={"agency_id": agency_id, "name": "Dump partner", "scopes": ["referrals:read"]},
        headers=system_admin,
    ).json()
    client_token = client.post(
        f"{API}/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": partner["client_id"],
            "client_secret": partner["client_secret"],
        },
    ).json()["access_token"]
    login = client.post(f"{API}/auth/login", json={"username": "dumptest", "password": password})
    user_token = login.json()["access_token"]
    headers = {"Authorization": f"Bearer {user_token}"}
    enrolment = client.post(
        f"{API}/auth/mfa/enrol", json={"password": password}, headers=headers
    ).json()
    secret = base64.b32decode(enrolment["secret"])
    code = totp.code_at(secret, totp.time_step(time.time()))
    assert (
        client.post(f"{API}/auth/mfa/confirm", json={"code": code}, headers=headers).status_code
        == 200
    )
    reset = client.post(f"{API}/users/{user['id']}/reset-password", headers=system_admin)
    temporary = reset.json()["temporary_password"]
    # A failed login with a marker password (it must not be kept either).
    client.post(f"{API}/auth/login", json={"username": "dumptest", "password": "failed marker xyz"})

    markers: list[str | bytes] = [
        password,
        "failed marker xyz",
        partner["client_secret"],
        client_token,
        user_token,
        temporary,
        enrolment["secret"],
        secret,
        *enrolment["recovery_codes"],
        *(c.replace("-", "") for c in enrolment["recovery_codes"]),
    ]
    values = _text_and_blob_values(db)
    assert len(values) > 20
    leaks = []
    for marker in markers:
        for value in values:
            if isinstance(marker, bytes):
                hay = value if isinstance(value, bytes) else value.encode("utf-8", "ignore")
            else:
                hay = value.decode("latin-1") if isinstance(value, bytes) else value  # type: ignore[assignment]
            if marker in hay:  # type: ignore[operator]
                leaks.append(marker if isinstance(marker, str) else marker.hex())
    assert leaks == []


def test_builder_users_share_the_test_password(db: Session) -> None:
    """Sanity check of the fast builders the matrix relies on (one Argon2 hash per session)."""
    agency: Agency = make_agency(db)
    first, second = make_user(db, agency), make_user(db, agency)
    assert first.password_hash == second.password_hash
    from services.crypto.passwords import verify_password

    assert verify_password(TEST_PASSWORD, first.password_hash)
