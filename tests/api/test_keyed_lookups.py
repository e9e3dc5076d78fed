"""What people type and Haven must find again (an `Idempotency-Key`, a username tried at login)
is stored only as a keyed HMAC under the keyring, never as a plain hash a dictionary reverses."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.cases import IdempotencyRecord
from models.identity import LoginFailure
from services.config import Settings
from services.crypto import lookup_digest
from services.identity import throttle
from services.kit import idempotency
from services.policy import Role
from services.runtime import Runtime
from tests.factories import API, case_body, make_agency, make_user, user_headers


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_an_idempotency_key_is_stored_only_as_a_keyed_hmac(
    client: TestClient, db: Session, settings: Settings, runtime: Runtime
) -> None:
    worker = make_user(db, make_agency(db), Role.CASEWORKER)
    headers = user_headers(db, worker, settings)
    guessable = "intake-amal-1"  # the kind of key people make up, and must not
    for _ in range(2):
        response = client.post(
            f"{API}/cases", json=case_body(), headers={**headers, "Idempotency-Key": guessable}
        )
        assert response.status_code in (200, 201), response.text
    assert response.headers.get("Idempotent-Replayed") == "true"  # still found again
    [stored] = db.scalars(
        select(IdempotencyRecord.key_hash).where(IdempotencyRecord.principal_id == worker.id)
    ).all()
    assert stored != sha256(guessable) and guessable not in stored
    assert stored == lookup_digest(runtime.keyring, idempotency.KEY_LOOKUP_PURPOSE, guessable)


def test_a_failed_login_stores_only_a_keyed_hmac_of_the_name_tried(
    client: TestClient, db: Session, runtime: Runtime
) -> None:
    refused = client.post(
        f"{API}/auth/login", json={"username": "Amal", "password": "not the passphrase"}
    )
    assert refused.status_code == 401
    [stored] = db.scalars(select(LoginFailure.account_key)).all()
    assert stored not in {sha256("amal"), sha256("Amal")}
    assert stored == throttle.account_key(runtime.keyring, "amal")
