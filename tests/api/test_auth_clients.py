"""Partner API clients: OAuth2 client credentials, scopes, revocation."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from models.identity import Agency, ApiClient
from services.config import Settings
from services.policy import Role
from tests.factories import API, make_agency, make_user, user_headers

TOKEN = f"{API}/auth/token"
ME = f"{API}/auth/me"
PROBLEM = "application/problem+json"


def create_client(
    client: TestClient, headers: dict[str, str], agency: Agency, scopes: list[str]
) -> dict[str, str]:
    response = client.post(
        f"{API}/api-clients",
        json={"agency_id": str(agency.id), "name": "Tracing partner", "scopes": scopes},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def token(client: TestClient, created: dict[str, str], **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
            **extra,
        },
    )


def setup(client: TestClient, db: Session, settings: Settings, scopes: list[str]):  # type: ignore[no-untyped-def]
    partner = make_agency(db)
    admin = make_user(db, partner, Role.AGENCY_ADMIN)
    headers = user_headers(db, admin, settings)
    return partner, headers, create_client(client, headers, partner, scopes)


def test_a_client_gets_a_token_with_its_granted_scopes(
    client: TestClient, db: Session, settings: Settings
) -> None:
    partner, _, created = setup(client, db, settings, ["referrals:read", "referrals:respond"])
    assert created["client_id"].startswith("hvc_")
    assert created["client_secret"].startswith("hvs_")
    response = token(client, created)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["scope"] == "referrals:read referrals:respond"
    assert body["expires_in"] == settings.client_token_lifetime_minutes * 60
    assert body["access_token"].startswith("hvn_")
    me = client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {
        "client_id": created["client_id"],
        "agency_id": str(partner.id),
        "scopes": ["referrals:read", "referrals:respond"],
    }
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.token")).all()
    assert event.actor_type == "client" and event.actor_id is not None


def test_a_token_may_be_narrowed_but_never_widened(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, _, created = setup(client, db, settings, ["referrals:read", "referrals:respond"])
    narrow = token(client, created, scope="referrals:read")
    assert narrow.json()["scope"] == "referrals:read"
    me = client.get(ME, headers={"Authorization": f"Bearer {narrow.json()['access_token']}"})
    assert me.json()["scopes"] == ["referrals:read"]

    _, _, read_only = setup(client, db, settings, ["referrals:read"])
    for scope in ("referrals:respond", "referrals:read referrals:respond", "cases:read"):
        wide = token(client, read_only, scope=scope)
        assert wide.status_code == 400
        assert wide.headers["content-type"] == PROBLEM
        body = wide.json()
        assert body["error"] == "invalid_scope"
        assert {"type", "title", "status", "detail"} <= body.keys()
    refused = db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.token_failed"))
    assert len(refused.all()) == 3


def test_a_wrong_secret_and_an_unknown_client_are_the_same_401(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, _, created = setup(client, db, settings, ["referrals:read"])
    wrong = token(client, {**created, "client_secret": "hvs_wrong"})
    unknown = token(client, {**created, "client_id": "hvc_nobody"})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["error"] == "invalid_client"
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert "hvs_wrong" not in wrong.text


def test_http_basic_client_authentication_works_too(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, _, created = setup(client, db, settings, ["referrals:read"])
    basic = base64.b64encode(f"{created['client_id']}:{created['client_secret']}".encode()).decode()
    response = client.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text


def test_other_grant_types_and_missing_credentials_are_refused(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, _, created = setup(client, db, settings, ["referrals:read"])
    password_grant = token(client, created, grant_type="password")
    assert password_grant.status_code == 400
    assert password_grant.json()["error"] == "unsupported_grant_type"
    no_secret = client.post(
        TOKEN, data={"grant_type": "client_credentials", "client_id": created["client_id"]}
    )
    assert no_secret.status_code == 401 and no_secret.json()["error"] == "invalid_client"
    json_body = client.post(TOKEN, json={"grant_type": "client_credentials"})
    assert json_body.status_code == 422  # a form is required


def test_deleting_a_client_kills_its_tokens_and_its_credentials(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, admin, created = setup(client, db, settings, ["referrals:read"])
    issued = {"Authorization": f"Bearer {token(client, created).json()['access_token']}"}
    assert client.get(ME, headers=issued).status_code == 200
    deleted = client.delete(f"{API}/api-clients/{created['id']}", headers=admin)
    assert deleted.status_code == 204
    assert client.get(ME, headers=issued).status_code == 401
    again = token(client, created)
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"
    assert client.delete(f"{API}/api-clients/{created['id']}", headers=admin).status_code == 404
    listed = client.get(f"{API}/api-clients", headers=admin).json()["items"]
    assert created["id"] not in [c["id"] for c in listed]


def test_the_secret_is_shown_once_and_stored_only_as_a_hash(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, admin, created = setup(client, db, settings, ["referrals:read"])
    listed = client.get(f"{API}/api-clients", headers=admin)
    assert created["client_secret"] not in listed.text
    assert "client_secret" not in listed.json()["items"][0]
    row = db.scalars(select(ApiClient).where(ApiClient.client_id == created["client_id"])).one()
    # 256 random bits need no slow hash: HMAC-SHA256 under a keyring key, nothing else kept.
    assert row.secret_hash.startswith("hmac-sha256$") and len(row.secret_hash) == 12 + 64
    assert created["client_secret"] not in row.secret_hash


def test_client_scopes_must_be_known(client: TestClient, db: Session, settings: Settings) -> None:
    partner = make_agency(db)
    headers = user_headers(db, make_user(db, partner, Role.AGENCY_ADMIN), settings)
    for scopes in ([], ["cases:read"]):
        response = client.post(
            f"{API}/api-clients",
            json={"agency_id": str(partner.id), "name": "Partner", "scopes": scopes},
            headers=headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"][:2] == ["body", "scopes"]
