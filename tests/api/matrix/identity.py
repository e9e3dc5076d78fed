"""Matrix entries: auth and administration (agencies, users, API clients)."""

from __future__ import annotations

import base64
import time

from models.base import utcnow
from services.crypto import totp
from services.identity import mfa
from services.policy import Role
from tests.api.matrix import (
    CLIENTS,
    OK,
    PENDING,
    PRINCIPALS,
    RESTRICTED,
    STAFF,
    SYSTEM_ADMINS,
    USERS,
    Call,
    Entry,
    Expected,
    World,
    expect,
    keys,
)
from tests.factories import API, TEST_PASSWORD

MEMBER_ADMINS_A = (*SYSTEM_ADMINS, "a.agency_admin")
"""Who may administer agency `a`'s users and clients; `b.agency_admin` meets them as 404."""
EVERYONE = dict.fromkeys(PRINCIPALS, OK)
"""Routes that read no bearer token: whatever the caller sends, they answer."""
EVERY_TOKEN: dict[str, Expected] = {**EVERYONE, PENDING: 401}
"""Every live token, and only a live one: a pending account's token is dead."""
FULL_USERS = STAFF  # users whose token is not restricted
NEW_PASSWORD_PREFIX = "matrix passphrase "


def _login(world: World, who: str) -> Call:
    user = world.new_user("a")
    return Call(json={"username": user.username, "password": TEST_PASSWORD})


def _token(world: World, who: str) -> Call:
    client = world.new_client("b")
    return Call(
        form={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": TEST_PASSWORD,
        }
    )


def _password(world: World, who: str) -> Call:
    return Call(
        json={
            "current_password": TEST_PASSWORD,
            "new_password": world.unique(NEW_PASSWORD_PREFIX),
        }
    )


def _pending_enrolment(world: World, who: str) -> Call:
    """A started enrolment for `who` (a user) and the authenticator's current code."""
    user = world.principal_user(who)
    if user is None:
        return Call(json={"code": "000000"})
    enrolment = mfa.start_enrolment(world.db, world.runtime.keyring, user, issuer="Haven")
    secret = base64.b32decode(enrolment.secret)
    return Call(json={"code": totp.code_at(secret, totp.time_step(time.time()))})


def _enabled_mfa(world: World, who: str) -> Call:
    user = world.principal_user(who)
    if user is not None:
        mfa.start_enrolment(world.db, world.runtime.keyring, user, issuer="Haven")
        user.totp_enabled_at = utcnow()
        world.db.flush()
    return Call(json={"password": TEST_PASSWORD})


def _new_user_body(world: World, who: str) -> Call:
    return Call(
        json={
            "username": world.unique("matrix"),
            "password": "a matrix passphrase of some length",
            "role": "caseworker",
            "agency_id": str(world.agency("a").id),
        }
    )


def _target_user(world: World, who: str) -> Call:
    return Call(path={"user_id": world.new_user("a").id})


def _pending_user(world: World, who: str) -> Call:
    user = world.new_user("a", Role.SUPERVISOR)
    user.pending_approval = True
    world.db.flush()
    return Call(path={"user_id": user.id})


def _deactivate_user(world: World, who: str) -> Call:
    return Call(path={"user_id": world.new_user("a").id}, json={"is_active": False})


def _new_client_body(world: World, who: str) -> Call:
    return Call(
        json={
            "agency_id": str(world.agency("a").id),
            "name": "Matrix partner",
            "scopes": ["referrals:read"],
        }
    )


def _target_client(world: World, who: str) -> Call:
    return Call(path={"api_client_id": world.new_client("a").id})


ADMIN_OF_A = expect(ok=MEMBER_ADMINS_A, not_found=("b.agency_admin",))

ENTRIES = [
    # Login and the token endpoint take no bearer token: everyone (any header) gets in.
    Entry("POST", f"{API}/auth/login", _login, EVERYONE),
    Entry("POST", f"{API}/auth/token", _token, EVERYONE),
    Entry("POST", f"{API}/auth/logout", lambda w, who: Call(), EVERY_TOKEN),
    Entry("GET", f"{API}/auth/me", lambda w, who: Call(), EVERY_TOKEN),
    # The caller's own account: staff only; a restricted token may do exactly its steps.
    Entry("POST", f"{API}/auth/password", _password, expect(ok=USERS)),
    # Every token enrols with the current password, the restricted one too.
    Entry(
        "POST",
        f"{API}/auth/mfa/enrol",
        lambda w, who: Call(json={"password": TEST_PASSWORD}),
        expect(ok=USERS),
    ),
    Entry("POST", f"{API}/auth/mfa/confirm", _pending_enrolment, expect(ok=USERS)),
    Entry("POST", f"{API}/auth/mfa/disable", _enabled_mfa, expect(ok=FULL_USERS)),
    # Administration.
    Entry(
        "POST",
        f"{API}/agencies",
        lambda w, who: Call(json={"name": w.unique("Matrix agency")}),
        expect(ok=SYSTEM_ADMINS),
    ),
    Entry("GET", f"{API}/agencies", lambda w, who: Call(), expect(ok=STAFF)),
    Entry("POST", f"{API}/users", _new_user_body, expect(ok=MEMBER_ADMINS_A)),
    # Supervisors list only their agency's accounts waiting for approval.
    Entry(
        "GET",
        f"{API}/users",
        lambda w, who: Call(),
        expect(ok=(*SYSTEM_ADMINS, *keys(roles=("agency_admin", "supervisor")))),
    ),
    Entry("GET", f"{API}/users/{{user_id}}", _target_user, ADMIN_OF_A),
    Entry("PATCH", f"{API}/users/{{user_id}}", _deactivate_user, ADMIN_OF_A),
    Entry("POST", f"{API}/users/{{user_id}}/reset-password", _target_user, ADMIN_OF_A),
    # The second person of an agency admin's account change: a supervisor of the agency or a
    # system admin; never an admin of the agency (who made the change), never another agency.
    Entry(
        "POST",
        f"{API}/users/{{user_id}}/approve",
        _pending_user,
        expect(ok=(*SYSTEM_ADMINS, "a.supervisor"), not_found=("b.supervisor",)),
    ),
    Entry("POST", f"{API}/api-clients", _new_client_body, expect(ok=MEMBER_ADMINS_A)),
    Entry(
        "GET",
        f"{API}/api-clients",
        lambda w, who: Call(),
        expect(ok=(*SYSTEM_ADMINS, "a.agency_admin", "b.agency_admin")),
    ),
    Entry("DELETE", f"{API}/api-clients/{{api_client_id}}", _target_client, ADMIN_OF_A),
]

assert RESTRICTED in USERS and not set(CLIENTS) & set(USERS)
