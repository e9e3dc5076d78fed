"""TOTP second factor, recovery codes, restricted tokens, password change and admin reset."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from models.audit import AuditEvent
from models.identity import RecoveryCode, User
from services.crypto import totp
from services.policy import Role
from services.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import API, TEST_PASSWORD, make_agency, make_user

LOGIN = f"{API}/auth/login"
ME = f"{API}/auth/me"
NEW_PASSWORD = "a brand new passphrase for the field"


def login(client: TestClient, username: str, password: str = TEST_PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(LOGIN, json={"username": username, "password": password, **extra})


def bearer(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def code_for(secret_b32: str, offset: int = 0) -> str:
    secret = base64.b32decode(secret_b32)
    return totp.code_at(secret, totp.time_step(time.time()) + offset)


def actions(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all())


def enrol(
    client: TestClient, headers: dict[str, str], password: str = TEST_PASSWORD
) -> dict[str, object]:
    """Enrolment always needs the current password, whatever the token."""
    response = client.post(f"{API}/auth/mfa/enrol", json={"password": password}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


@pytest.fixture
def amal(db: Session) -> User:
    return make_user(db, make_agency(db), Role.CASEWORKER, username="amal")


# --- TOTP ----------------------------------------------------------------------------------


def test_enrol_gives_an_otpauth_uri_and_recovery_codes(
    client: TestClient, db: Session, amal: User
) -> None:
    body = enrol(client, bearer(login(client, "amal")))
    uri = urlparse(str(body["otpauth_uri"]))
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert uri.path == "/Haven:amal"
    query = parse_qs(uri.query)
    assert query["secret"] == [body["secret"]]
    assert query["issuer"] == ["Haven"] and query["digits"] == ["6"] and query["period"] == ["30"]
    codes = body["recovery_codes"]
    assert isinstance(codes, list) and len(codes) == 10 and len(set(codes)) == 10
    # The secret is sealed at rest, the codes kept only as hashes.
    db.refresh(amal)
    assert amal.totp_secret is not None
    assert base64.b32decode(str(body["secret"])) not in amal.totp_secret
    stored = db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == amal.id))
    assert not set(codes) & set(stored)
    assert "mfa.enrol" in actions(db)


@pytest.mark.usefixtures("amal")
def test_confirm_turns_it_on_and_then_login_needs_a_fresh_code(
    client: TestClient, db: Session
) -> None:
    headers = bearer(login(client, "amal"))
    secret = str(enrol(client, headers)["secret"])
    # Before confirmation the factor is pending: login still works without a code.
    assert login(client, "amal").status_code == 200
    wrong = client.post(f"{API}/auth/mfa/confirm", json={"code": "000000"}, headers=headers)
    if wrong.status_code != 422:  # one in a million: 000000 is the right code
        pytest.skip("000000 happened to be the current code")
    assert wrong.json()["errors"][0]["loc"] == ["body", "code"]
    confirm_code = code_for(secret, -1)  # one step of drift is accepted
    confirmed = client.post(f"{API}/auth/mfa/confirm", json={"code": confirm_code}, headers=headers)
    assert confirmed.status_code == 200 and confirmed.json() == {"restricted_to": []}
    assert client.get(ME, headers=headers).json()["mfa_enabled"] is True

    missing = login(client, "amal")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["body", "totp_code"]
    # The code used to confirm was used once already: a replay is refused like a wrong password.
    replay = login(client, "amal", totp_code=confirm_code)
    assert replay.status_code == 401
    assert replay.json()["detail"] == "Wrong username or password."
    now_code = code_for(secret)
    assert login(client, "amal", totp_code=now_code).status_code == 200
    assert login(client, "amal", totp_code=now_code).status_code == 401  # same code: refused
    assert login(client, "amal", totp_code=code_for(secret, +1)).status_code == 200  # drift
    # An older step than the last accepted one is a replay too.
    assert login(client, "amal", totp_code=code_for(secret)).status_code == 401
    # The right code with the wrong password gets nothing.
    assert (
        login(client, "amal", "wrong passphrase!!", totp_code=code_for(secret, 1)).status_code
        == 401
    )
    assert "mfa.confirm" in actions(db)


@pytest.mark.usefixtures("amal")
def test_a_wrong_code_counts_as_a_failed_login(client: TestClient) -> None:
    headers = bearer(login(client, "amal"))
    secret = str(enrol(client, headers)["secret"])
    client.post(f"{API}/auth/mfa/confirm", json={"code": code_for(secret)}, headers=headers)
    for _ in range(10):
        login(client, "amal", totp_code="12345x")
    assert login(client, "amal", totp_code=code_for(secret, 1)).status_code == 429


@pytest.mark.usefixtures("amal")
def test_recovery_codes_work_once_each(client: TestClient, db: Session) -> None:
    headers = bearer(login(client, "amal"))
    body = enrol(client, headers)
    secret, codes = str(body["secret"]), list(body["recovery_codes"])  # type: ignore[call-overload]
    client.post(f"{API}/auth/mfa/confirm", json={"code": code_for(secret)}, headers=headers)
    first = login(client, "amal", recovery_code=codes[0].lower().replace("-", " "))
    assert first.status_code == 200  # case and separators do not matter
    assert login(client, "amal", recovery_code=codes[0]).status_code == 401
    assert login(client, "amal", recovery_code=codes[1]).status_code == 200
    assert login(client, "amal", recovery_code="AAAA-BBBB-CCCC-DDDD").status_code == 401
    used = db.scalars(select(AuditEvent).where(AuditEvent.action == "mfa.recovery_code_used")).all()
    assert len(used) == 2 and '"remaining": 8' in (used[-1].detail or "")


def test_disable_needs_the_password(client: TestClient, db: Session, amal: User) -> None:
    headers = bearer(login(client, "amal"))
    secret = str(enrol(client, headers)["secret"])
    client.post(f"{API}/auth/mfa/confirm", json={"code": code_for(secret)}, headers=headers)
    wrong = client.post(
        f"{API}/auth/mfa/disable", json={"password": "not my passphrase"}, headers=headers
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["loc"] == ["body", "password"]
    assert client.get(ME, headers=headers).json()["mfa_enabled"] is True
    ok = client.post(f"{API}/auth/mfa/disable", json={"password": TEST_PASSWORD}, headers=headers)
    assert ok.status_code == 200
    assert login(client, "amal").status_code == 200  # no code needed any more
    assert db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == amal.id)).all() == []
    assert "mfa.disable" in actions(db)


@pytest.mark.usefixtures("amal")
def test_enrolling_twice_while_enabled_is_a_conflict(client: TestClient) -> None:
    headers = bearer(login(client, "amal"))
    secret = str(enrol(client, headers)["secret"])
    client.post(f"{API}/auth/mfa/confirm", json={"code": code_for(secret)}, headers=headers)
    again = client.post(f"{API}/auth/mfa/enrol", headers=headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


# --- a second factor required by role -------------------------------------------------------


@pytest.fixture
def mfa_client(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(
        runtime.settings.database_url,
        tmp_path_factory.mktemp("mfa"),
        mfa_required_roles="supervisor,agency_admin",
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


def test_a_role_that_requires_mfa_gets_a_token_good_only_for_enrolment(
    mfa_client: TestClient, db: Session
) -> None:
    make_user(db, make_agency(db), Role.SUPERVISOR, username="layla")
    response = login(mfa_client, "layla")
    assert response.json()["restricted_to"] == ["mfa.enrol"]
    headers = bearer(response)
    refused = mfa_client.get(f"{API}/agencies", headers=headers)
    assert refused.status_code == 403
    assert "mfa.enrol" in refused.json()["detail"]
    assert mfa_client.get(ME, headers=headers).json()["restricted_to"] == ["mfa.enrol"]
    # Not a step this token was restricted to:
    change = mfa_client.post(
        f"{API}/auth/password",
        json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert change.status_code == 403
    # Even this token, just issued after the password, does not enrol without it:
    for sent in (None, {}, {"password": "not my passphrase"}):
        refused = mfa_client.post(f"{API}/auth/mfa/enrol", json=sent, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["loc"] == ["body", "password"]
    assert mfa_client.get(ME, headers=headers).json()["mfa_enabled"] is False
    secret = str(enrol(mfa_client, headers)["secret"])
    confirmed = mfa_client.post(
        f"{API}/auth/mfa/confirm", json={"code": code_for(secret)}, headers=headers
    )
    assert confirmed.json() == {"restricted_to": []}
    assert mfa_client.get(f"{API}/agencies", headers=headers).status_code == 200
    # Disabling it again puts the token back on the enrolment step.
    off = mfa_client.post(
        f"{API}/auth/mfa/disable", json={"password": TEST_PASSWORD}, headers=headers
    )
    assert off.json() == {"restricted_to": ["mfa.enrol"]}
    assert mfa_client.get(f"{API}/agencies", headers=headers).status_code == 403


def test_removing_the_second_factor_restricts_every_live_token_of_the_user(
    mfa_client: TestClient, db: Session
) -> None:
    layla = make_user(db, make_agency(db), Role.SUPERVISOR, username="layla")
    first = bearer(login(mfa_client, "layla"))
    secret = str(enrol(mfa_client, first)["secret"])
    mfa_client.post(f"{API}/auth/mfa/confirm", json={"code": code_for(secret)}, headers=first)
    second = bearer(login(mfa_client, "layla", totp_code=code_for(secret, 1)))
    assert mfa_client.get(f"{API}/agencies", headers=second).status_code == 200
    off = mfa_client.post(
        f"{API}/auth/mfa/disable", json={"password": TEST_PASSWORD}, headers=first
    )
    assert off.json() == {"restricted_to": ["mfa.enrol"]}
    # The token the factor was removed with and every other live token alike:
    for headers in (first, second):
        refused = mfa_client.get(f"{API}/agencies", headers=headers)
        assert refused.status_code == 403 and "mfa.enrol" in refused.json()["detail"]
        assert mfa_client.get(ME, headers=headers).json()["restricted_to"] == ["mfa.enrol"]
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "mfa.disable")).all()
    assert event.resource_id == str(layla.id) and '"tokens_restricted": 2' in (event.detail or "")


def test_roles_not_named_are_not_forced(mfa_client: TestClient, db: Session) -> None:
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    assert login(mfa_client, "amal").json()["restricted_to"] == []


# --- password change and reset -------------------------------------------------------------


@pytest.mark.usefixtures("amal")
def test_changing_the_password_keeps_this_token_and_kills_the_others(
    client: TestClient, db: Session
) -> None:
    mine, other = bearer(login(client, "amal")), bearer(login(client, "amal"))
    response = client.post(
        f"{API}/auth/password",
        json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
        headers=mine,
    )
    assert response.status_code == 200
    assert client.get(ME, headers=mine).status_code == 200
    assert client.get(ME, headers=other).status_code == 401
    assert login(client, "amal").status_code == 401
    assert login(client, "amal", NEW_PASSWORD).status_code == 200
    assert "auth.password_change" in actions(db)


@pytest.mark.parametrize(
    ("new_password", "problem"),
    [
        ("short pass!", "at least 12"),
        ("1qaz2wsx3edc", "run of consecutive"),
        ("password1234", "too common"),
        ("passwordpassword", "repeats"),
        ("123456789012", "run of consecutive"),
        ("aaaaaaaaaaaa", "too few different"),
        ("x" * 129, "at most 128"),
        (TEST_PASSWORD, "differ"),
        ("amal", "at least 12"),
    ],
)
@pytest.mark.usefixtures("amal")
def test_password_rules_name_the_field(client: TestClient, new_password: str, problem: str) -> None:
    headers = bearer(login(client, "amal"))
    response = client.post(
        f"{API}/auth/password",
        json={"current_password": TEST_PASSWORD, "new_password": new_password},
        headers=headers,
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", "new_password"]
    assert problem in error["msg"]
    assert new_password not in response.text


@pytest.mark.usefixtures("amal")
def test_long_passphrases_of_any_script_are_accepted(client: TestClient) -> None:
    headers = bearer(login(client, "amal"))
    long_one = "كلمة مرور طويلة جدا " * 3 + "x" * 4  # 64 characters, Arabic and spaces
    assert len(long_one) == 64
    response = client.post(
        f"{API}/auth/password",
        json={"current_password": TEST_PASSWORD, "new_password": long_one},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert login(client, "amal", long_one).status_code == 200


@pytest.mark.usefixtures("amal")
def test_a_wrong_current_password_is_refused_and_counted(client: TestClient) -> None:
    headers = bearer(login(client, "amal"))
    response = client.post(
        f"{API}/auth/password",
        json={"current_password": "not my passphrase", "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "current_password"]
    assert login(client, "amal", NEW_PASSWORD).status_code == 401


def test_an_admin_reset_forces_a_new_password_at_next_login(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db)
    make_user(db, agency, Role.AGENCY_ADMIN, username="boss")
    make_user(db, agency, Role.SUPERVISOR, username="sup")
    worker = make_user(db, agency, Role.CASEWORKER, username="amal")
    admin = bearer(login(client, "boss"))
    before = bearer(login(client, "amal"))
    reset = client.post(f"{API}/users/{worker.id}/reset-password", headers=admin)
    assert reset.status_code == 200
    temporary = reset.json()["temporary_password"]
    assert len(temporary) >= 20 and reset.json()["user_id"] == str(worker.id)
    assert client.get(ME, headers=before).status_code == 401  # every token died
    assert login(client, "amal").status_code == 401
    # An agency admin's reset of a caseworker waits for a second person.
    assert login(client, "amal", temporary).status_code == 401
    approver = bearer(login(client, "sup"))
    assert client.post(f"{API}/users/{worker.id}/approve", headers=approver).status_code == 200
    response = login(client, "amal", temporary)
    assert response.json()["restricted_to"] == ["password.change"]
    headers = bearer(response)
    assert client.get(f"{API}/agencies", headers=headers).status_code == 403
    assert client.get(ME, headers=headers).json()["must_change_password"] is True
    changed = client.post(
        f"{API}/auth/password",
        json={"current_password": temporary, "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert changed.json() == {"restricted_to": []}
    assert client.get(f"{API}/agencies", headers=headers).status_code == 200
    assert login(client, "amal", temporary).status_code == 401
    assert login(client, "amal", NEW_PASSWORD).json()["restricted_to"] == []
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.reset_password"))
    [event] = events.all()
    assert temporary not in str(event.detail) and event.actor_type == "user"


def test_a_reset_can_also_remove_a_lost_second_factor(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    make_user(db, make_agency(db), Role.SYSTEM_ADMIN, username="boss")
    worker = make_user(db, agency, Role.CASEWORKER, username="amal")
    mine = bearer(login(client, "amal"))
    secret = str(enrol(client, mine)["secret"])
    client.post(f"{API}/auth/mfa/confirm", json={"code": code_for(secret)}, headers=mine)
    admin = bearer(login(client, "boss"))
    reset = client.post(
        f"{API}/users/{worker.id}/reset-password", json={"reset_mfa": True}, headers=admin
    )
    temporary = reset.json()["temporary_password"]
    response = login(client, "amal", temporary)  # no code asked any more
    assert response.status_code == 200
