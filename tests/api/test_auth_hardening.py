"""Regression tests of the identity security review, through HTTP (both backends).

H2 parallel guesses and the throttle; M1 lockout by a stranger; M2 second-factor resets; M3
enrolment needs the password; M5 NUL in Basic credentials and cursors; M6 client secrets without
Argon2, throttled; L2 the missing second-factor code is audited; L3 no-store on secrets.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from models.audit import AuditEvent
from models.identity import ApiClient, LoginFailure, User
from services.config import Settings
from services.crypto import passwords, totp
from services.identity import auth as auth_service
from services.identity import throttle
from services.policy import Role
from services.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import (
    API,
    TEST_PASSWORD,
    make_agency,
    make_api_client,
    make_user,
    user_headers,
)

LOGIN = f"{API}/auth/login"
TOKEN = f"{API}/auth/token"
ENROL = f"{API}/auth/mfa/enrol"
WRONG = "wrong passphrase!!"


def login(  # type: ignore[no-untyped-def]
    client: TestClient,
    username: str,
    password: str = TEST_PASSWORD,
    headers: dict[str, str] | None = None,
    **extra: object,
):
    body = {"username": username, "password": password, **extra}
    return client.post(LOGIN, json=body, headers=headers)


def events(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


def failure_rows(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(LoginFailure)) or 0


def bearer(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def proxied(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app behind a trusted proxy: the client address comes from X-Forwarded-For."""
    settings = make_settings(
        runtime.settings.database_url,
        tmp_path_factory.mktemp("proxied"),
        trust_forwarded_for=True,
        key_file=runtime.settings.key_file,
    )
    behind = Runtime(
        settings=settings,
        engine=runtime.engine,
        session_factory=runtime.session_factory,
        keyring=runtime.keyring,
    )
    with TestClient(create_app(runtime=behind), raise_server_exceptions=False) as http:
        yield http


def at(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


# --- H2: parallel guesses cannot pass the throttle -------------------------------------------


def test_parallel_wrong_guesses_cannot_exceed_the_limit(fresh_runtime: Runtime) -> None:
    """Reviewer's burst: every guess starts at once. The attempt is recorded (committed) before
    the slow check, so at most `limit` of them are checked; the rest are 429."""
    limit = fresh_runtime.settings.login_max_failures_per_account
    burst = limit + 8
    with fresh_runtime.session_factory() as session, session.begin():
        make_user(session, make_agency(session), Role.CASEWORKER, username="victim")
    counts: Counter[int] = Counter()
    with TestClient(create_app(runtime=fresh_runtime), raise_server_exceptions=False) as http:
        barrier = threading.Barrier(burst)

        def guess(i: int) -> None:
            barrier.wait(timeout=60)
            response = login(http, "victim", f"wrong-guess-{i:04d}xx")
            counts[response.status_code] += 1

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(burst)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert sum(counts.values()) == burst
        assert set(counts) <= {401, 429}
        assert counts[401] <= limit, f"{counts[401]} guesses checked (limit {limit})"
        assert counts[429] >= burst - limit
        # Parallel attempts may refuse each other conservatively (an attempt in flight counts):
        # one by one, the rest of the limit is still there, and not one guess more.
        later = [login(http, "victim", f"later guess {i:02d}") for i in range(limit + 1)]
    checked = counts[401] + sum(r.status_code == 401 for r in later)
    assert checked == limit
    assert later[-1].status_code == 429 and int(later[-1].headers["Retry-After"]) > 0
    with fresh_runtime.session_factory() as session:
        # Only checked guesses are counted; refused ones left no row behind.
        assert failure_rows(session) == limit
        assert len(events(session, "auth.login_failed")) == limit


def test_the_attempt_is_committed_before_the_password_check(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch, runtime: Runtime
) -> None:
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    seen: list[int] = []
    real_verify = passwords.verify_and_upgrade

    def verify(password: str, encoded: str) -> tuple[bool, str | None]:
        seen.append(failure_rows(db))
        return real_verify(password, encoded)

    monkeypatch.setattr(auth_service, "verify_and_upgrade", verify)
    assert login(client, "amal", WRONG).status_code == 401
    assert login(client, "ghost", WRONG).status_code == 401
    assert login(client, "amal").status_code == 200
    # Each check ran with its attempt already recorded: 1, then 2, then 3 rows.
    assert seen == [1, 2, 3]
    # The success removed its own row and this address's failures for amal.
    keys = list(db.scalars(select(LoginFailure.account_key)))
    assert keys == [throttle.account_key(runtime.keyring, "ghost")]


# --- M1: a stranger cannot lock the real user out ---------------------------------------------


def test_failures_from_other_addresses_do_not_lock_out_the_real_user(
    proxied: TestClient, db: Session, settings: Settings
) -> None:
    make_user(db, make_agency(db), Role.SUPERVISOR, username="boss")
    limit = settings.login_max_failures_per_account
    for i in range(limit):  # a stranger, from many addresses
        assert login(proxied, "BOSS", "nope nope nope", headers=at(f"6.6.6.{i}")).status_code == 401
    real = login(proxied, "boss", headers=at("10.1.1.1"))
    assert real.status_code == 200, real.text
    # The account-wide burst from several addresses is an alert for the operators.
    [alert] = events(db, "auth.login_distributed_failures")
    detail = json.loads(alert.detail or "{}")
    assert detail["failures"] == limit and detail["addresses"] == limit
    assert alert.resource_type == "user"


def test_ten_failures_from_one_address_lock_only_that_address(
    proxied: TestClient, db: Session, settings: Settings
) -> None:
    make_user(db, make_agency(db), Role.SUPERVISOR, username="boss")
    limit = settings.login_max_failures_per_account
    for _ in range(limit):
        assert login(proxied, "boss", WRONG, headers=at("6.6.6.6")).status_code == 401
    locked = login(proxied, "boss", headers=at("6.6.6.6"))  # even the right password
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= settings.login_window_minutes * 60
    assert login(proxied, "boss", headers=at("10.1.1.1")).status_code == 200
    # The real user's success does not forgive the stranger's address.
    assert login(proxied, "boss", WRONG, headers=at("6.6.6.6")).status_code == 429
    assert events(db, "auth.login_distributed_failures") == []  # one source: a 429, no alert


def test_thirty_failures_from_one_address_lock_it_for_every_account(
    proxied: TestClient, db: Session, settings: Settings
) -> None:
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    for n in range(settings.login_max_failures_per_address):
        assert login(proxied, f"user{n}", WRONG, headers=at("7.7.7.7")).status_code == 401
    assert login(proxied, "amal", headers=at("7.7.7.7")).status_code == 429
    assert login(proxied, "amal", headers=at("10.1.1.1")).status_code == 200


# --- M3: enrolling a second factor needs the password -----------------------------------------


def test_a_full_token_cannot_enrol_without_the_current_password(
    client: TestClient, db: Session
) -> None:
    user = make_user(db, make_agency(db), Role.SUPERVISOR, username="layla")
    headers = bearer(login(client, "layla"))
    missing = client.post(ENROL, headers=headers)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["body", "password"]
    wrong = client.post(ENROL, json={"password": "not my passphrase"}, headers=headers)
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["loc"] == ["body", "password"]
    db.refresh(user)
    assert user.totp_secret is None  # nothing was bound
    [refused] = events(db, "mfa.enrol")
    assert refused.outcome == "denied"
    assert failure_rows(db) == 1  # the wrong password counts like a failed login
    ok = client.post(ENROL, json={"password": TEST_PASSWORD}, headers=headers)
    assert ok.status_code == 200
    assert ok.headers["Cache-Control"] == "no-store"
    assert len(ok.json()["recovery_codes"]) == 10


def test_wrong_passwords_at_enrolment_are_throttled(
    client: TestClient, db: Session, settings: Settings
) -> None:
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    headers = bearer(login(client, "amal"))
    for _ in range(settings.login_max_failures_per_account):
        response = client.post(ENROL, json={"password": "not my passphrase"}, headers=headers)
        assert response.status_code == 422
    locked = client.post(ENROL, json={"password": TEST_PASSWORD}, headers=headers)
    assert locked.status_code == 429 and "Retry-After" in locked.headers


def test_a_token_restricted_to_enrolment_still_needs_the_password(
    runtime: Runtime, tmp_path_factory: pytest.TempPathFactory, db: Session
) -> None:
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
    make_user(db, make_agency(db), Role.SUPERVISOR, username="layla")
    with TestClient(create_app(runtime=strict), raise_server_exceptions=False) as http:
        response = login(http, "layla")
        assert response.json()["restricted_to"] == ["mfa.enrol"]
        headers = bearer(response)
        bare = http.post(ENROL, headers=headers)
        assert bare.status_code == 422
        assert bare.json()["errors"][0]["loc"] == ["body", "password"]
        wrong = http.post(ENROL, json={"password": "not my passphrase"}, headers=headers)
        assert wrong.status_code == 422
        enrolled = http.post(ENROL, json={"password": TEST_PASSWORD}, headers=headers)
        assert enrolled.status_code == 200, enrolled.text


# --- M2: only a system admin removes another user's second factor -----------------------------


def _enrolled(client: TestClient, username: str) -> None:
    headers = bearer(login(client, username))
    body = client.post(ENROL, json={"password": TEST_PASSWORD}, headers=headers).json()
    code = totp.code_at(base64.b32decode(body["secret"]), totp.time_step(time.time()))
    confirmed = client.post(f"{API}/auth/mfa/confirm", json={"code": code}, headers=headers)
    assert confirmed.status_code == 200


def test_an_agency_admin_cannot_remove_another_admins_second_factor(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """No second person approves changes to an admin account, so its factor stays with the
    system admin."""
    target_role = Role.AGENCY_ADMIN
    agency = make_agency(db)
    admin = user_headers(db, make_user(db, agency, Role.AGENCY_ADMIN), settings)
    target = make_user(db, agency, target_role, username="target")
    _enrolled(client, "target")
    refused = client.post(
        f"{API}/users/{target.id}/reset-password", json={"reset_mfa": True}, headers=admin
    )
    assert refused.status_code == 403
    assert "system admin" in refused.json()["detail"]
    db.refresh(target)
    assert not target.pending_approval
    assert target.totp_enabled_at is not None
    assert passwords.verify_password(TEST_PASSWORD, target.password_hash)  # nothing changed
    [denied] = events(db, "user.reset_password")
    assert denied.outcome == "denied" and denied.resource_id == str(target.id)


@pytest.mark.parametrize("target_role", [Role.SUPERVISOR, Role.CASEWORKER])
def test_an_agency_admin_removes_a_second_factor_only_with_a_second_persons_approval(
    client: TestClient, db: Session, settings: Settings, target_role: Role
) -> None:
    agency = make_agency(db)
    admin = user_headers(db, make_user(db, agency, Role.AGENCY_ADMIN), settings)
    approver = user_headers(db, make_user(db, agency, Role.SUPERVISOR), settings)
    target = make_user(db, agency, target_role, username="target")
    _enrolled(client, "target")
    reset = client.post(
        f"{API}/users/{target.id}/reset-password", json={"reset_mfa": True}, headers=admin
    )
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["temporary_password"]
    db.refresh(target)
    assert target.totp_enabled_at is None and target.pending_approval
    # The admin holds a password and no second factor stands in the way, yet:
    assert login(client, "target", temporary).status_code == 401
    approved = client.post(f"{API}/users/{target.id}/approve", headers=approver)
    assert approved.status_code == 200, approved.text
    assert approved.json()["pending_approval"] is False
    assert login(client, "target", temporary).status_code == 200


def test_resets_are_audited_with_the_target_role_and_the_mfa_flag(
    client: TestClient, db: Session, settings: Settings
) -> None:
    agency = make_agency(db)
    root = user_headers(db, make_user(db, make_agency(db), Role.SYSTEM_ADMIN), settings)
    admin = user_headers(db, make_user(db, agency, Role.AGENCY_ADMIN), settings)
    supervisor = make_user(db, agency, Role.SUPERVISOR, username="sup")
    _enrolled(client, "sup")
    plain = client.post(f"{API}/users/{supervisor.id}/reset-password", headers=admin)
    assert plain.status_code == 200
    assert plain.headers["Cache-Control"] == "no-store"
    with_mfa = client.post(
        f"{API}/users/{supervisor.id}/reset-password", json={"reset_mfa": True}, headers=root
    )
    assert with_mfa.status_code == 200
    db.refresh(supervisor)
    assert supervisor.totp_enabled_at is None
    done = [e for e in events(db, "user.reset_password") if e.outcome == "success"]
    details = [json.loads(e.detail or "{}") for e in done]
    assert [(d["reset_mfa"], d["target_role"], d["case_content_role"]) for d in details] == [
        (False, "supervisor", True),
        (True, "supervisor", True),
    ]
    # Auditors can filter on the flag through the audit API.
    auditor = user_headers(db, make_user(db, agency, Role.AUDITOR), settings)
    listed = client.get(
        f"{API}/audit/events", params={"action": "user.reset_password"}, headers=auditor
    )
    assert listed.status_code == 200, listed.text
    flags = sorted(
        (i["detail"]["reset_mfa"], i["detail"]["target_role"])
        for i in listed.json()["items"]
        if i["outcome"] == "success"
    )
    assert flags == [(False, "supervisor"), (True, "supervisor")]


# --- M6: client secrets without Argon2, throttled ---------------------------------------------


def _create_client(client: TestClient, db: Session, settings: Settings) -> dict[str, str]:
    partner = make_agency(db)
    admin = user_headers(db, make_user(db, partner, Role.AGENCY_ADMIN), settings)
    created = client.post(
        f"{API}/api-clients",
        json={"agency_id": str(partner.id), "name": "Partner", "scopes": ["referrals:read"]},
        headers=admin,
    )
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    body: dict[str, str] = created.json()
    return body


def _token(client: TestClient, client_id: str, secret: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        headers=headers,
    )


def test_the_token_endpoint_runs_no_argon2_for_unknown_or_current_clients(
    client: TestClient, db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = _create_client(client, db, settings)
    argon2_checks: list[str] = []
    real = passwords.verify_password

    def counting(password: str, encoded: str) -> bool:
        argon2_checks.append(encoded)
        return real(password, encoded)

    monkeypatch.setattr(passwords, "verify_password", counting)
    unknown = _token(client, "hvc_nobody", "hvs_whatever")
    wrong = _token(client, created["client_id"], "hvs_wrong")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["error"] == wrong.json()["error"] == "invalid_client"
    assert unknown.json()["detail"] == wrong.json()["detail"]
    ok = _token(client, created["client_id"], created["client_secret"])
    assert ok.status_code == 200 and ok.headers["Cache-Control"] == "no-store"
    assert argon2_checks == []


def test_a_secret_stored_by_an_earlier_release_works_once_then_is_upgraded(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = make_api_client(db, make_agency(db), frozenset({"referrals:read"}))
    assert legacy.secret_hash.startswith("$argon2id$")
    assert _token(client, legacy.client_id, TEST_PASSWORD).status_code == 200
    db.refresh(legacy)
    assert legacy.secret_hash.startswith("hmac-sha256$")
    argon2_checks: list[str] = []
    monkeypatch.setattr(
        passwords,
        "verify_password",
        lambda p, e: argon2_checks.append(e),  # noqa: ARG005  the replaced signature
    )
    assert _token(client, legacy.client_id, TEST_PASSWORD).status_code == 200
    assert argon2_checks == []


def test_failed_client_authentications_are_throttled_per_address(
    client: TestClient, db: Session, settings: Settings, runtime: Runtime
) -> None:
    created = _create_client(client, db, settings)
    for n in range(settings.login_max_failures_per_address - 1):
        db.add(
            LoginFailure(
                account_key=throttle.client_key(runtime.keyring, f"hvc_{n}"),
                client_address="testclient",
            )
        )
    db.flush()
    assert _token(client, "hvc_guess", "hvs_guess").status_code == 401
    refused = _token(client, created["client_id"], created["client_secret"])
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    [event] = events(db, "auth.token_throttled")
    assert event.outcome == "denied"


# --- M5: NUL never reaches the database ----------------------------------------------------


def test_basic_credentials_with_a_nul_are_invalid_client(client: TestClient) -> None:
    for raw in (b"\x00abc:secret", b"abc\x00:secret", b"ab\x1fc:secret"):
        response = client.post(
            TOKEN,
            data={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
        )
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"
    # A NUL in the secret is just a wrong secret.
    nul_secret = base64.b64encode(b"hvc_x:se\x00cret").decode()
    response = client.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + nul_secret},
    )
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/agencies", "/users", "/api-clients"])
@pytest.mark.parametrize("raw", [b"\x00x", b"ab\x00", b"\x1b[31m"])
def test_a_cursor_decoding_to_control_characters_is_a_422(
    client: TestClient, db: Session, settings: Settings, path: str, raw: bytes
) -> None:
    root = user_headers(db, make_user(db, make_agency(db), Role.SYSTEM_ADMIN), settings)
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = client.get(f"{API}{path}", params={"cursor": cursor}, headers=root)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("path", ["/agencies", "/users", "/api-clients"])
def test_an_empty_cursor_is_the_first_page(
    client: TestClient, db: Session, settings: Settings, path: str
) -> None:
    root = user_headers(db, make_user(db, make_agency(db), Role.SYSTEM_ADMIN), settings)
    first = client.get(f"{API}{path}", headers=root)
    empty = client.get(f"{API}{path}", params={"cursor": ""}, headers=root)
    assert first.status_code == empty.status_code == 200
    assert empty.json()["items"] == first.json()["items"]


# --- L2: the right password without the code is audited, not counted --------------------------


def test_a_missing_second_factor_code_is_audited_and_not_counted(
    client: TestClient, db: Session
) -> None:
    user = make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    _enrolled(client, "amal")
    before = failure_rows(db)
    response = login(client, "amal")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "totp_code"]
    [event] = events(db, "auth.login_mfa_required")
    assert event.resource_id == str(user.id) and event.outcome == "denied"
    assert failure_rows(db) == before


# --- L3: no-store on every answer that carries a secret ---------------------------------------


def test_answers_carrying_secrets_are_not_cached(
    client: TestClient, db: Session, settings: Settings
) -> None:
    make_user(db, make_agency(db), Role.CASEWORKER, username="amal")
    logged_in = login(client, "amal")
    assert logged_in.headers["Cache-Control"] == "no-store"
    assert logged_in.headers["Pragma"] == "no-cache"
    enrolled = client.post(ENROL, json={"password": TEST_PASSWORD}, headers=bearer(logged_in))
    assert enrolled.headers["Cache-Control"] == "no-store"
    created = _create_client(client, db, settings)  # asserts no-store on creation
    issued = _token(client, created["client_id"], created["client_secret"])
    assert issued.headers["Cache-Control"] == "no-store"


# --- new passwords: long is not enough ------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["password1234", "passwordpassword", "123456789012", "aaaaaaaaaaaa", "qwertyuiopas"],
)
def test_long_but_guessable_passwords_are_refused_over_http(
    client: TestClient, db: Session, settings: Settings, password: str
) -> None:
    agency = make_agency(db)
    admin = user_headers(db, make_user(db, agency, Role.AGENCY_ADMIN), settings)
    response = client.post(
        f"{API}/users",
        json={
            "username": "newbie",
            "password": password,
            "role": "caseworker",
            "agency_id": str(agency.id),
        },
        headers=admin,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "password"]
    assert password not in response.text
    assert db.scalar(select(User).where(User.username == "newbie")) is None


def test_api_client_rows_keep_only_the_keyed_hash(
    client: TestClient, db: Session, settings: Settings, runtime: Runtime
) -> None:
    created = _create_client(client, db, settings)
    row = db.scalars(select(ApiClient).where(ApiClient.client_id == created["client_id"])).one()
    key = runtime.keyring.system_key(passwords.CLIENT_SECRET_KEY_PURPOSE)
    assert row.secret_hash == passwords.hash_client_secret(key, created["client_secret"])
    assert passwords.hash_client_secret(b"\x00" * 32, created["client_secret"]) != row.secret_hash
