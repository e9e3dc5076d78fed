"""Every `/api/v1` answer tells caches to keep nothing: successes, refusals and framework errors."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.config import Settings
from services.policy import Role
from services.runtime import Runtime
from tests.factories import (
    API,
    TEST_PASSWORD,
    case_body,
    make_agency,
    make_case,
    make_user,
    user_headers,
)


def test_every_api_answer_says_no_store(
    client: TestClient, db: Session, settings: Settings, runtime: Runtime
) -> None:
    agency = make_agency(db)
    owner = make_user(db, agency, Role.CASEWORKER)
    stranger = make_user(db, make_agency(db), Role.CASEWORKER)
    case_id = make_case(db, runtime.keyring, settings, owner, case_body())
    headers = user_headers(db, owner, settings)
    answers = {
        "login": client.post(
            f"{API}/auth/login", json={"username": owner.username, "password": TEST_PASSWORD}
        ),
        "me": client.get(f"{API}/auth/me", headers=headers),
        "case": client.get(f"{API}/cases/{case_id}", headers=headers),
        "case list": client.get(f"{API}/cases", headers=headers),
        "notes": client.get(f"{API}/cases/{case_id}/notes", headers=headers),
        "reference": client.get(f"{API}/reference/concerns", headers=headers),
        "404 other agency's case": client.get(
            f"{API}/cases/{case_id}", headers=user_headers(db, stranger, settings)
        ),
        "401 no token": client.get(f"{API}/cases/{case_id}"),
        "403 wrong role": client.get(f"{API}/users", headers=headers),
        "422 bad body": client.post(f"{API}/cases", json={"child": 1}, headers=headers),
        "404 unknown route": client.get(f"{API}/no-such-thing", headers=headers),
        "405 wrong method": client.put(f"{API}/auth/me", headers=headers),
        "413 body too large": client.post(
            f"{API}/cases",
            content=b"x" * (settings.max_body_bytes + 1),
            headers={**headers, "Content-Type": "application/json"},
        ),
    }
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {
        "login": 200,
        "me": 200,
        "case": 200,
        "case list": 200,
        "notes": 200,
        "reference": 200,
        "404 other agency's case": 404,
        "401 no token": 401,
        "403 wrong role": 403,
        "422 bad body": 422,
        "404 unknown route": 404,
        "405 wrong method": 405,
        "413 body too large": 413,
    }
    for name, response in answers.items():
        assert response.headers.get_list("cache-control") == ["no-store"], name


def test_answers_outside_the_api_are_left_alone(client: TestClient) -> None:
    assert "cache-control" not in client.get("/health").headers
