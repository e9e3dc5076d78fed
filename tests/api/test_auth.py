"""Staff login, logout, /auth/me, token lifetimes, throttling and enumeration, through HTTP."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.app import create_app
from models.audit import AuditEvent
from models.base import utcnow
from models.identity import AccessToken, LoginFailure, User
from services import database
from services.config import Settings
from services.crypto import passwords
from services.identity import auth as auth_service
from services.identity import throttle
from services.identity.tokens import token_hash
from services.policy import Role
from services.runtime import Runtime
from tests.factories import API, TEST_PASSWORD, make_agency, make_api_client, make_user

LOGIN = f"{API}/auth/login"
ME = f"{API}/auth/me"
PROBLEM = "application/problem+json"


def login(client: TestClient, username: str, password: str = TEST_PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(LOGIN, json={"username": username, "password": password, **extra})


def bearer(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def events(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


def failures(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(LoginFailure)) or 0


def age_failures(db: Session, minutes: int) -> None:
    for row in db.scalars(select(LoginFailure)):
        row.at = row.at - timedelta(minutes=minutes)
    db.flush()


# --- login, me, logout ---------------------------------------------------------------------


def test_login_returns_an_opaque_token_known_only_by_its_hash(
    client: TestClient, db: Session, settings: Settings
) -> None:
    user = make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    response = login(client, "amal")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.token_lifetime_hours * 3600
    assert body["restricted_to"] == []
    token = body["access_token"]
    assert token.startswith("hvn_") and len(token) >= 47
    assert response.headers["Cache-Control"] == "no-store"
    stored = db.scalars(select(AccessToken).where(AccessToken.user_id == user.id)).one()
    assert stored.token_hash == token_hash(token)
    [event] = events(db, "auth.login")
    assert event.actor_id == user.id and event.actor_type == "user"


def test_usernames_are_case_and_width_insensitive(client: TestClient, db: Session) -> None:
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    assert login(client, "  AMAL ").status_code == 200


def test_me_describes_the_user(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    user = make_user(db, agency, Role.SUPERVISOR, username="layla")
    me = client.get(ME, headers=bearer(login(client, "layla")))
    assert me.status_code == 200
    assert me.json() == {
        "id": str(user.id),
        "username": "layla",
        "role": "supervisor",
        "agency_id": str(agency.id),
        "mfa_enabled": False,
        "must_change_password": False,
        "restricted_to": [],
    }


def test_every_login_gets_a_new_token_and_logout_kills_only_that_one(
    client: TestClient, db: Session
) -> None:
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    first = bearer(login(client, "amal"))
    second = bearer(login(client, "amal"))
    assert first != second
    logout = client.post(f"{API}/auth/logout", headers=first)
    assert logout.status_code == 204
    assert logout.content == b""
    dead = client.get(ME, headers=first)
    assert dead.status_code == 401
    assert dead.headers["content-type"] == PROBLEM
    assert client.get(ME, headers=second).status_code == 200
    assert len(events(db, "auth.logout")) == 1


def test_a_token_dies_after_its_absolute_lifetime(client: TestClient, db: Session) -> None:
    user = make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    headers = bearer(login(client, "amal"))
    db.execute(
        update(AccessToken)
        .where(AccessToken.user_id == user.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    assert client.get(ME, headers=headers).status_code == 401


def test_use_keeps_a_token_alive_and_idleness_kills_it(
    client: TestClient, db: Session, settings: Settings
) -> None:
    user = make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    headers = bearer(login(client, "amal"))
    almost = utcnow() - timedelta(minutes=settings.token_idle_minutes - 1)
    db.execute(
        update(AccessToken).where(AccessToken.user_id == user.id).values(last_used_at=almost)
    )
    assert client.get(ME, headers=headers).status_code == 200
    row = db.scalars(select(AccessToken).where(AccessToken.user_id == user.id)).one()
    db.refresh(row)
    assert row.last_used_at > almost + timedelta(minutes=1)  # the use was recorded
    idle = utcnow() - timedelta(minutes=settings.token_idle_minutes + 1)
    db.execute(update(AccessToken).where(AccessToken.user_id == user.id).values(last_used_at=idle))
    assert client.get(ME, headers=headers).status_code == 401


# --- wrong credentials and enumeration -------------------------------------------------------


def _comparable(response) -> tuple[int, dict[str, object], dict[str, str]]:  # type: ignore[no-untyped-def]
    body = {k: v for k, v in response.json().items() if k != "request_id"}
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("x-request-id", "content-length")
    }
    return response.status_code, body, headers


def test_unknown_user_wrong_password_and_inactive_user_get_the_same_answer(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db)
    make_user(db, agency, Role.CASEWORKER, username="amal")
    make_user(db, agency, Role.CASEWORKER, username="gone", is_active=False)
    wrong = login(client, "amal", "not the right passphrase")
    unknown = login(client, "nobody-here", "not the right passphrase")
    inactive = login(client, "gone")  # the right password, but deactivated
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == PROBLEM
    assert _comparable(wrong) == _comparable(unknown) == _comparable(inactive)
    assert "not the right passphrase" not in wrong.text


def test_unknown_and_known_users_cost_one_argon2_check_each(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same work on both paths (no timed assertion): exactly one hash verification each."""
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    checked: list[str] = []
    real = passwords.verify_and_upgrade

    def counting(password: str, encoded: str) -> tuple[bool, str | None]:
        checked.append(encoded)
        return real(password, encoded)

    monkeypatch.setattr(auth_service, "verify_and_upgrade", counting)
    login(client, "amal", "wrong passphrase!!")
    login(client, "nobody", "wrong passphrase!!")
    assert len(checked) == 2
    assert checked[1] == passwords.DUMMY_HASH
    assert checked[0] != passwords.DUMMY_HASH


def test_a_failed_login_is_audited_without_name_or_password(
    client: TestClient, db: Session
) -> None:
    user = make_user(db, make_agency(db), Role.CASEWORKER, username="amal-secretname")
    login(client, "amal-secretname", "wrong-passphrase-marker")
    login(client, "unknown-secretname", "wrong-passphrase-marker")
    known, unknown = events(db, "auth.login_failed")
    assert known.actor_type == unknown.actor_type == "anonymous"
    assert known.outcome == unknown.outcome == "denied"
    assert known.resource_id == str(user.id)
    assert unknown.resource_id is None
    for event in (known, unknown):
        text = json.dumps([str(getattr(event, c.key)) for c in AuditEvent.__table__.columns])
        assert "secretname" not in text and "marker" not in text


def test_failures_survive_their_rolled_back_requests(fresh_runtime: Runtime) -> None:
    """With real commits (and SQLite's single writer): every refusal written in its own
    transaction is committed, and none waits on the failing request's own lock."""
    with fresh_runtime.session_factory() as session, session.begin():
        agency = make_agency(session)
        make_user(session, agency, Role.CASEWORKER, username="amal")
        partner = make_api_client(session, agency, frozenset({"referrals:read"}))
        partner_id = partner.client_id
    with TestClient(create_app(runtime=fresh_runtime)) as http:
        assert login(http, "amal", "wrong passphrase!!").status_code == 401
        assert login(http, "nobody", "wrong passphrase!!").status_code == 401
        headers = bearer(login(http, "amal"))
        wrong_current = http.post(
            f"{API}/auth/password",
            json={
                "current_password": "not my passphrase",
                "new_password": "a new long passphrase 7",
            },
            headers=headers,
        )
        assert wrong_current.status_code == 422
        form = {"grant_type": "client_credentials", "client_id": partner_id}
        bad_secret = http.post(f"{API}/auth/token", data={**form, "client_secret": "nope"})
        assert bad_secret.status_code == 401
        bad_scope = http.post(
            f"{API}/auth/token",
            data={**form, "client_secret": TEST_PASSWORD, "scope": "referrals:respond"},
        )
        assert bad_scope.status_code == 400
    with fresh_runtime.session_factory() as session:
        assert len(events(session, "auth.login_failed")) == 2
        assert len(events(session, "auth.login")) == 1
        assert len(events(session, "auth.password_change")) == 1  # the refused attempt
        assert len(events(session, "auth.token_failed")) == 2
    with fresh_runtime.session_factory() as session:
        keys = set(session.scalars(select(LoginFailure.account_key)))
        # amal's failed login was forgiven by the successful one; the unknown name's failure
        # and the wrong current password (after that login) are counted; so is the wrong
        # client secret (per address, like logins), but not the right one with a bad scope.
        assert keys == {
            throttle.account_key(fresh_runtime.keyring, "nobody"),
            throttle.account_key(fresh_runtime.keyring, "amal"),
            throttle.client_key(fresh_runtime.keyring, partner_id),
        }


def test_a_second_factor_failure_without_login_data_is_a_422_naming_the_field(
    client: TestClient,
) -> None:
    response = client.post(LOGIN, json={"username": "amal"})
    assert response.status_code == 422
    assert ["body", "password"] in [e["loc"] for e in response.json()["errors"]]


# --- throttling ------------------------------------------------------------------------------


def test_ten_failures_lock_the_account_with_retry_after_then_it_expires(
    client: TestClient, db: Session, settings: Settings
) -> None:
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    for _ in range(settings.login_max_failures_per_account):
        assert login(client, "amal", "wrong passphrase!!").status_code == 401
    locked = login(client, "amal")  # even the right password is refused now
    assert locked.status_code == 429
    assert locked.headers["content-type"] == PROBLEM
    retry = int(locked.headers["Retry-After"])
    assert 0 < retry <= settings.login_window_minutes * 60
    assert len(events(db, "auth.login_throttled")) == 1
    # Hammering a locked account neither checks nor counts: the lock cannot be extended.
    for _ in range(3):
        assert login(client, "amal", "wrong passphrase!!").status_code == 429
    assert failures(db) == settings.login_max_failures_per_account
    # A sliding window: once the failures are older than the window, the user gets in.
    age_failures(db, settings.login_window_minutes)
    assert login(client, "amal").status_code == 200
    assert failures(db) == 0  # a successful login forgives the account's failures


def test_the_lock_lifts_as_the_oldest_failures_leave_the_window(
    client: TestClient, db: Session, settings: Settings
) -> None:
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    for _ in range(settings.login_max_failures_per_account):
        login(client, "amal", "wrong passphrase!!")
    # Push all but one failure well into the past, but still inside the window.
    oldest = db.scalars(select(LoginFailure).order_by(LoginFailure.at)).first()
    assert oldest is not None
    oldest.at = utcnow() - timedelta(minutes=settings.login_window_minutes) + timedelta(seconds=90)
    db.flush()
    locked = login(client, "amal")
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) <= 90
    oldest.at = utcnow() - timedelta(minutes=settings.login_window_minutes, seconds=1)
    db.flush()
    assert login(client, "amal").status_code == 200


def test_unknown_usernames_are_throttled_exactly_like_known_ones(
    client: TestClient, db: Session, settings: Settings
) -> None:
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    for name in ("amal", "ghost"):
        for _ in range(settings.login_max_failures_per_account):
            login(client, name, "wrong passphrase!!")
    known, unknown = login(client, "amal"), login(client, "ghost")
    assert known.status_code == unknown.status_code == 429
    assert _comparable(known)[1] == _comparable(unknown)[1]


def test_thirty_failures_from_one_address_lock_that_address(
    client: TestClient, db: Session, settings: Settings, runtime: Runtime
) -> None:
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    # The test client's address is "testclient"; 29 failures on other accounts, then one more.
    for n in range(settings.login_max_failures_per_address - 1):
        db.add(
            LoginFailure(
                account_key=throttle.account_key(runtime.keyring, f"user{n}"),
                client_address="testclient",
            )
        )
    db.flush()
    assert login(client, "someone-else", "wrong passphrase!!").status_code == 401
    response = login(client, "amal")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    age_failures(db, settings.login_window_minutes)
    assert login(client, "amal").status_code == 200


def test_a_successful_login_is_not_throttled_below_the_limit(
    client: TestClient, db: Session, settings: Settings
) -> None:
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    for _ in range(settings.login_max_failures_per_account - 1):
        login(client, "amal", "wrong passphrase!!")
    assert login(client, "amal").status_code == 200


# --- deactivation ------------------------------------------------------------------------


def test_deactivation_kills_tokens_at_once_and_reactivation_allows_login(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db)
    make_user(db, agency, Role.AGENCY_ADMIN, username="boss")
    worker = make_user(db, agency, Role.CASEWORKER, username="amal")
    admin = bearer(login(client, "boss"))
    worker_headers = bearer(login(client, "amal"))
    off = client.patch(f"{API}/users/{worker.id}", json={"is_active": False}, headers=admin)
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert client.get(ME, headers=worker_headers).status_code == 401
    assert login(client, "amal").status_code == 401
    assert all(
        t.revoked_at is not None
        for t in db.scalars(select(AccessToken).where(AccessToken.user_id == worker.id))
    )
    on = client.patch(f"{API}/users/{worker.id}", json={"is_active": True}, headers=admin)
    assert on.status_code == 200
    assert login(client, "amal").status_code == 200
    assert client.get(ME, headers=worker_headers).status_code == 401  # old tokens stay dead


# --- password hashing upgrades ---------------------------------------------------------------


def test_a_weaker_stored_hash_is_upgraded_at_login(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    with monkeypatch.context() as patched:
        patched.setattr(passwords, "ARGON2_MEMORY_KIB", 8 * 1024)
        patched.setattr(passwords, "ARGON2_ITERATIONS", 1)
        user.password_hash = passwords.hash_password(TEST_PASSWORD)
    db.flush()
    assert passwords.needs_rehash(user.password_hash)
    assert login(client, "amal").status_code == 200
    db.expire(user)
    stored = db.get(User, user.id)
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert not passwords.needs_rehash(stored.password_hash)
    assert passwords.verify_password(TEST_PASSWORD, stored.password_hash)


def test_no_transaction_is_open_while_hashing(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slow Argon2 check must not hold the database (on SQLite: the write lock)."""
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    sessions: list[Session] = []
    real_end, real_verify = database.end_request_reads, passwords.verify_and_upgrade
    open_during_hash: list[bool] = []

    def end_reads(session: Session) -> None:
        sessions.append(session)
        real_end(session)

    def verify(password: str, encoded: str) -> tuple[bool, str | None]:
        open_during_hash.append(sessions[-1].in_transaction())
        return real_verify(password, encoded)

    monkeypatch.setattr(auth_service, "end_request_reads", end_reads)
    monkeypatch.setattr(auth_service, "verify_and_upgrade", verify)
    assert login(client, "amal").status_code == 200
    assert login(client, "nobody", "wrong passphrase!!").status_code == 401
    assert open_during_hash == [False, False]


def test_a_username_with_a_nul_byte_is_a_422_not_a_500(client: TestClient) -> None:
    response = client.post(
        f"{API}/auth/login", json={"username": "ad\u0000min", "password": "whatever it is"}
    )
    assert response.status_code == 422
    assert ["body", "username"] in [item["loc"] for item in response.json()["errors"]]
    token = client.post(
        f"{API}/auth/token",
        data={"grant_type": "client_credentials", "client_id": "x\u0000y", "client_secret": "s"},
    )
    assert token.status_code in (401, 422)
