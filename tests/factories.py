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
from dataclasses import dataclass, field
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


# --- the one cast of the HTTP tests --------------------------------------------------------


@dataclass
class Actor:
    """Someone who calls the API: a staff user or a partner agency's API client, with the
    bearer headers of a token of theirs."""

    user: User | None
    headers: dict[str, str]
    client: ApiClient | None = None

    @property
    def id(self) -> uuid.UUID:
        """The user's id, or the API client's (what audit rows and `*_by` fields name)."""
        if self.user is not None:
            return self.user.id
        assert self.client is not None
        return self.client.id

    @property
    def api_client(self) -> ApiClient:
        assert self.client is not None, "not an API client"
        return self.client


@dataclass
class World:
    """The people of the HTTP tests: a home agency with one of each staff role (and a second
    caseworker), another agency with its own staff, a partner agency (its supervisor and API
    clients with all, read-only and respond-only referral scopes) and a third agency's client.

    The referral tests' fixture adds a case of `owner`'s (`case_id`); the case tests start with
    no case."""

    agency: Agency
    other_agency: Agency
    partner_agency: Agency
    third_agency: Agency
    owner: Actor
    colleague: Actor
    supervisor: Actor
    agency_admin: Actor
    system_admin: Actor
    auditor: Actor
    other_caseworker: Actor
    other_supervisor: Actor
    partner_supervisor: Actor
    partner: Actor
    partner_read_only: Actor
    partner_respond_only: Actor
    other_partner: Actor
    case: uuid.UUID | None = field(default=None)

    @property
    def case_id(self) -> uuid.UUID:
        assert self.case is not None, "this world has no case (the referral fixture makes one)"
        return self.case

    @property
    def h(self) -> dict[str, dict[str, str]]:
        """Headers by the names the referral tests use for the two sides of a referral."""
        return {
            "caseworker": self.owner.headers,
            "other_caseworker": self.colleague.headers,
            "supervisor": self.supervisor.headers,
            "admin": self.agency_admin.headers,
            "auditor": self.auditor.headers,
            "other_supervisor": self.partner_supervisor.headers,
            "partner": self.partner.headers,
            "partner_read": self.partner_read_only.headers,
            "other_partner": self.other_partner.headers,
        }


def build_world(session: Session, settings: Settings) -> World:
    """A new `World`, each agency and person made afresh (flushed, not committed)."""
    home, other, partner_agency, third = (make_agency(session) for _ in range(4))

    def staff(agency: Agency, role: Role) -> Actor:
        user = make_user(session, agency, role)
        return Actor(user, user_headers(session, user, settings))

    def client(agency: Agency, scopes: frozenset[str] | None = None) -> Actor:
        made = (
            make_api_client(session, agency)
            if scopes is None
            else make_api_client(session, agency, scopes)
        )
        return Actor(None, client_headers(session, made, settings), client=made)

    return World(
        agency=home,
        other_agency=other,
        partner_agency=partner_agency,
        third_agency=third,
        owner=staff(home, Role.CASEWORKER),
        colleague=staff(home, Role.CASEWORKER),
        supervisor=staff(home, Role.SUPERVISOR),
        agency_admin=staff(home, Role.AGENCY_ADMIN),
        system_admin=staff(home, Role.SYSTEM_ADMIN),
        auditor=staff(home, Role.AUDITOR),
        other_caseworker=staff(other, Role.CASEWORKER),
        other_supervisor=staff(other, Role.SUPERVISOR),
        partner_supervisor=staff(partner_agency, Role.SUPERVISOR),
        partner=client(partner_agency),
        partner_read_only=client(partner_agency, frozenset({"referrals:read"})),
        partner_respond_only=client(partner_agency, frozenset({"referrals:respond"})),
        other_partner=client(third),
    )
