"""Small typed builders for test data. They write through the models directly (fast, no
Argon2 per user: every test user shares one precomputed hash of `TEST_PASSWORD`)."""

from __future__ import annotations

import secrets
from functools import lru_cache

from sqlalchemy.orm import Session

from models.identity import Agency, ApiClient, User
from services.config import Settings
from services.crypto.passwords import hash_password
from services.identity.tokens import issue_client_token, issue_user_token
from services.policy import Role

TEST_PASSWORD = "correct horse battery staple"


@lru_cache(maxsize=1)
def test_password_hash() -> str:
    return hash_password(TEST_PASSWORD)


def make_agency(session: Session, name: str | None = None) -> Agency:
    agency = Agency(name=name or f"Agency {secrets.token_hex(4)}")
    session.add(agency)
    session.flush()
    return agency


def make_user(
    session: Session,
    agency: Agency,
    role: Role | str = Role.CASEWORKER,
    *,
    username: str | None = None,
    is_active: bool = True,
) -> User:
    user = User(
        username=username or f"user-{secrets.token_hex(4)}",
        password_hash=test_password_hash(),
        role=Role(role).value,
        agency_id=agency.id,
        is_active=is_active,
    )
    session.add(user)
    session.flush()
    return user


def make_api_client(
    session: Session,
    agency: Agency,
    scopes: frozenset[str] = frozenset({"referrals:read", "referrals:respond"}),
) -> ApiClient:
    client = ApiClient(
        client_id=f"client-{secrets.token_hex(6)}",
        secret_hash=test_password_hash(),
        name="Partner client",
        agency_id=agency.id,
        scopes=" ".join(sorted(scopes)),
    )
    session.add(client)
    session.flush()
    return client


def user_headers(session: Session, user: User, settings: Settings) -> dict[str, str]:
    token = issue_user_token(session, user, settings)
    return {"Authorization": f"Bearer {token.value}"}


def client_headers(
    session: Session, client: ApiClient, settings: Settings, scopes: frozenset[str] | None = None
) -> dict[str, str]:
    granted = frozenset(client.scopes.split())
    token = issue_client_token(session, client, scopes if scopes is not None else granted, settings)
    return {"Authorization": f"Bearer {token.value}"}
