"""One home for test data: the API prefix, agencies, users and API clients with their tokens,
principals, case bodies and cases written through the service.

Users and clients are written through the models directly (fast, no Argon2 per user: every test
user shares one precomputed hash of `TEST_PASSWORD`). Area-specific arrangements (the referral
world and its drivers, the case-API world, the role matrix) build on these.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from functools import lru_cache
from typing import Any, Final

from sqlalchemy.orm import Session

from api.app import API_PREFIX
from models.identity import Agency, ApiClient, User
from services.cases.intake import create_case
from services.config import Settings
from services.crypto import Keyring
from services.crypto.passwords import hash_password
from services.identity.enums import PrincipalKind
from services.identity.tokens import issue_client_token, issue_user_token
from services.policy import Principal, Role

API: Final = API_PREFIX
"""Every versioned route lives under this prefix: `f"{API}/cases"`."""

TEST_PASSWORD = "correct horse battery staple"


# --- identities -----------------------------------------------------------------------------


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


def principal_of(user: User) -> Principal:
    """The principal a request by `user` would carry (for calling services directly)."""
    return Principal(
        kind=PrincipalKind.USER,
        id=user.id,
        agency_id=user.agency_id,
        name=user.username,
        role=Role(user.role),
    )


def client_principal(client: ApiClient, scopes: frozenset[str] | None = None) -> Principal:
    return Principal(
        kind=PrincipalKind.CLIENT,
        id=client.id,
        agency_id=client.agency_id,
        name=client.client_id,
        scopes=scopes if scopes is not None else frozenset(client.scopes.split()),
    )


# --- cases ----------------------------------------------------------------------------------

OMIT: Final = object()
"""Pass as a field's value to `case_body` to leave that field out of the body."""

CASE_BODY: Final[dict[str, Any]] = {
    "child": {
        "given_name": "Amal",
        "family_name": "Hassan",
        "sex": "female",
        "date_of_birth": "2014-03-09",
    },
    "location": {"governorate": "Nineveh", "district": "Sinjar", "address": "Near the school"},
    "caregivers": [{"name": "Layla Hassan", "relationship": "aunt", "phone": "+964 750 000 0000"}],
    "separation_status": "separated",
    "protection_concerns": ["separated_unaccompanied", "psychosocial_distress"],
    "risk_level": "high",
    "narrative": "Arrived at the transit centre alone.",
}
"""A complete, valid intake body."""


def case_body(**fields: Any) -> dict[str, Any]:
    """A fresh intake body: `CASE_BODY` with each given top-level field replaced (`OMIT` drops
    it). Sections are replaced whole: `case_body(child={"given_name": ...})` sets the child to
    exactly that."""
    body = copy.deepcopy(CASE_BODY)
    for name, value in fields.items():
        if value is OMIT:
            body.pop(name, None)
        else:
            body[name] = copy.deepcopy(value)
    return body


def make_case(
    db: Session, keyring: Keyring, settings: Settings, owner: User, body: dict[str, Any]
) -> uuid.UUID:
    """A case created through the intake service, as `owner`; its id."""
    view = create_case(db, keyring, settings, principal_of(owner), body)
    db.flush()
    return view.case.id
