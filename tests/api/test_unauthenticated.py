"""Every `/api/v1` route but login and the token endpoint answers 401 problem+json without a
valid token: none, garbage, expired, idle-timed-out, revoked, or a deactivated user's.

Generic over the application's routes, so a new endpoint is covered the moment it exists.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from models.base import utcnow
from models.identity import AccessToken
from services.config import Settings
from services.identity.tokens import issue_user_token, revoke_token, token_hash
from services.policy import Role
from tests.api.matrix import api_routes
from tests.factories import API, make_agency, make_user

PUBLIC = {("POST", f"{API}/auth/login"), ("POST", f"{API}/auth/token")}
PROBLEM = "application/problem+json"


def _token(db: Session, settings: Settings) -> tuple[str, uuid.UUID]:
    user = make_user(db, make_agency(db), Role.SUPERVISOR)
    issued = issue_user_token(db, user, settings)
    return issued.value, issued.token_id


def _none(db: Session, settings: Settings) -> dict[str, str]:  # noqa: ARG001  shared signature
    return {}


def _garbage(db: Session, settings: Settings) -> dict[str, str]:  # noqa: ARG001  shared signature
    return {"Authorization": "Bearer hvn_not-a-real-token"}


def _not_bearer(db: Session, settings: Settings) -> dict[str, str]:
    value, _ = _token(db, settings)
    return {"Authorization": f"Basic {value}"}


def _expired(db: Session, settings: Settings) -> dict[str, str]:
    value, token_id = _token(db, settings)
    db.execute(
        update(AccessToken)
        .where(AccessToken.id == token_id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    return {"Authorization": f"Bearer {value}"}


def _idle(db: Session, settings: Settings) -> dict[str, str]:
    value, token_id = _token(db, settings)
    db.execute(
        update(AccessToken)
        .where(AccessToken.id == token_id)
        .values(last_used_at=utcnow() - timedelta(minutes=settings.token_idle_minutes + 1))
    )
    return {"Authorization": f"Bearer {value}"}


def _revoked(db: Session, settings: Settings) -> dict[str, str]:
    value, token_id = _token(db, settings)
    revoke_token(db, token_id)
    return {"Authorization": f"Bearer {value}"}


def _deactivated(db: Session, settings: Settings) -> dict[str, str]:
    user = make_user(db, make_agency(db), Role.AGENCY_ADMIN, is_active=False)
    return {"Authorization": f"Bearer {issue_user_token(db, user, settings).value}"}


CREDENTIALS: dict[str, Callable[[Session, Settings], dict[str, str]]] = {
    "none": _none,
    "garbage": _garbage,
    "not-bearer": _not_bearer,
    "expired": _expired,
    "idle": _idle,
    "revoked": _revoked,
    "deactivated": _deactivated,
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_every_protected_route_answers_401(
    kind: str, app: FastAPI, client: TestClient, db: Session, settings: Settings
) -> None:
    headers = CREDENTIALS[kind](db, settings)
    db.flush()
    routes = sorted(api_routes(app) - PUBLIC)
    assert len(routes) >= 16, routes
    wrong = []
    for method, path in routes:
        response = client.request(method, _concrete(path), headers=headers, json={})
        if (
            response.status_code != 401
            or response.headers["content-type"] != PROBLEM
            or response.json().get("status") != 401
        ):
            wrong.append(f"{method} {path}: {response.status_code}")
        elif response.headers.get("WWW-Authenticate") != "Bearer":
            wrong.append(f"{method} {path}: no WWW-Authenticate header")
    assert wrong == []


def test_a_token_is_known_only_by_its_hash(db: Session, settings: Settings) -> None:
    value, token_id = _token(db, settings)
    row = db.get(AccessToken, token_id)
    assert row is not None
    assert row.token_hash == token_hash(value) != value
    assert value.startswith("hvn_") and len(value) >= 4 + 43  # 256 bits, base64url
