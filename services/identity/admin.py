"""Administration: agencies, staff users, partner API clients.

Every function asks the policy first (`require`: may this role ever do it, else 403), then loads
records through `user_filter`, so an agency admin meets another agency's users and clients as
404, exactly as if they did not exist. An admin manages only users whose role it could assign.

Two-person account changes: an agency admin who creates a caseworker or supervisor, changes a
user's role into one of those, or resets such a user's password or second factor, would
otherwise hold an account that reads the agency's cases (they know the password they set). So
such a change leaves the account `pending_approval`: nobody can log in as it, and no token of it
works, until a supervisor of the agency (not the user itself) or a system admin approves it
(`approve_user`). A system admin's changes take effect at once.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.identity import Agency, ApiClient, User
from services import audit
from services.actions import Action
from services.crypto import Keyring
from services.crypto.passwords import (
    CLIENT_SECRET_KEY_PURPOSE,
    hash_client_secret,
    hash_password,
)
from services.errors import Conflict, Forbidden, InvalidInput
from services.identity import mfa, throttle
from services.identity.enums import Role, Scope
from services.identity.rules import check_new_password, normalise_username
from services.identity.tokens import revoke_client_tokens, revoke_user_tokens
from services.kit.cursor import Keyset, SortKey
from services.kit.pages import Page, check_limit
from services.policy import (
    Principal,
    approver_filter,
    assignable_roles,
    can_manage_agency_members,
    not_found,
    require,
    user_filter,
)

CLIENT_ID_PREFIX = "hvc_"
CLIENT_SECRET_PREFIX = "hvs_"  # noqa: S105 (a prefix, not a secret)
USERNAME_MAX_LENGTH = 150


AGENCIES_BY_NAME = Keyset("agencies", (SortKey(Agency.name, str),))
USERS_BY_NAME = Keyset("users", (SortKey(User.username, str, bound=USERNAME_MAX_LENGTH),))
CLIENTS_BY_ID = Keyset("api_clients", (SortKey(ApiClient.client_id, str, bound=64),))
"""Administration lists page on a unique name, in its order."""


# --- agencies ------------------------------------------------------------------------------


def create_agency(session: Session, principal: Principal, *, name: str) -> Agency:
    require(principal, Action.AGENCY_CREATE)
    name = " ".join(name.split())
    if not name:
        raise InvalidInput.field(("body", "name"), "must not be blank")
    if session.scalar(select(Agency.id).where(Agency.name == name)) is not None:
        raise Conflict("An agency with that name exists already.")
    agency = Agency(name=name)
    session.add(agency)
    session.flush()
    audit.record(
        session, principal, Action.AGENCY_CREATE, resource_type="agency", resource_id=agency.id
    )
    return agency


def list_agencies(
    session: Session, principal: Principal, *, limit: int, cursor: str | None
) -> Page[Agency]:
    require(principal, Action.AGENCY_LIST)
    limit = check_limit(limit)
    query = AGENCIES_BY_NAME.select_page(select(Agency), cursor=cursor, limit=limit)
    page = AGENCIES_BY_NAME.split(session.scalars(query).all(), limit, lambda a: (a.name,))
    audit.record(
        session,
        principal,
        Action.AGENCY_LIST,
        resource_type="agency",
        detail={"count": len(page.items)},
    )
    return page


# --- users ---------------------------------------------------------------------------------

CASE_CONTENT_ROLES = frozenset({Role.SUPERVISOR.value, Role.CASEWORKER.value})
"""Roles that read children's case files: taking over such an account reaches case content."""


def needs_approval(principal: Principal, target_role: str) -> bool:
    """Whether this principal's change to an account of `target_role` waits for a second person:
    an agency admin's, to an account that reads case content."""
    return principal.role == Role.AGENCY_ADMIN and target_role in CASE_CONTENT_ROLES


def _check_manageable_role(principal: Principal, role: str, action: Action) -> None:
    if Role(role) not in assignable_roles(principal):
        raise Forbidden(f"Your role may not manage users with the role {role}.", action=action)


def _agency_for_members(
    session: Session, principal: Principal, agency_id: uuid.UUID, action: Action
) -> Agency:
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise InvalidInput.field(("body", "agency_id"), "no such agency")
    if not can_manage_agency_members(principal, agency.id):
        raise Forbidden("You may only manage your own agency's members.", action=action)
    return agency


def create_user(
    session: Session,
    principal: Principal,
    *,
    username: str,
    password: str,
    role: str,
    agency_id: uuid.UUID,
    must_change_password: bool,
) -> User:
    require(principal, Action.USER_CREATE)
    _check_manageable_role(principal, role, Action.USER_CREATE)
    agency = _agency_for_members(session, principal, agency_id, Action.USER_CREATE)
    name = normalise_username(username)
    if not name or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise InvalidInput.field(("body", "username"), "must be non-empty, without spaces")
    if len(name) > USERNAME_MAX_LENGTH:
        raise InvalidInput.field(("body", "username"), "is too long")
    check_new_password(password, loc=("body", "password"))
    if password.casefold() == name:
        raise InvalidInput.field(("body", "password"), "must not be the username")
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict("That username is taken.")
    user = User(
        username=name,
        password_hash=hash_password(password),
        role=Role(role).value,
        agency_id=agency.id,
        must_change_password=must_change_password,
        pending_approval=needs_approval(principal, Role(role).value),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        principal,
        Action.USER_CREATE,
        resource_type="user",
        resource_id=user.id,
        detail={
            "role": user.role,
            "agency_id": str(agency.id),
            "pending_approval": user.pending_approval,
        },
    )
    return user


def list_users(
    session: Session,
    principal: Principal,
    *,
    limit: int,
    cursor: str | None,
    agency_id: uuid.UUID | None = None,
    role: str | None = None,
    pending_approval: bool | None = None,
) -> Page[User]:
    """Admins list the users they administer; a supervisor lists only its agency's accounts
    waiting for approval (whatever the filters say), so it can find what to approve."""
    require(principal, Action.USER_LIST)
    limit = check_limit(limit)
    query = select(User).where(_listable(principal))
    if pending_approval is not None:
        query = query.where(User.pending_approval.is_(pending_approval))
    if agency_id is not None:
        query = query.where(User.agency_id == agency_id)
    if role is not None:
        query = query.where(User.role == role)
    query = USERS_BY_NAME.select_page(query, cursor=cursor, limit=limit)
    page = USERS_BY_NAME.split(session.scalars(query).all(), limit, lambda u: (u.username,))
    audit.record(
        session,
        principal,
        Action.USER_LIST,
        resource_type="user",
        detail={"count": len(page.items)},
    )
    return page


def _listable(principal: Principal) -> ColumnElement[bool]:
    if principal.role == Role.SUPERVISOR:
        waiting: ColumnElement[bool] = approver_filter(principal, User.agency_id) & (
            User.pending_approval.is_(True)
        )
        return waiting
    return user_filter(principal, User.agency_id)


def get_user(
    session: Session, principal: Principal, user_id: uuid.UUID, action: Action = Action.USER_READ
) -> User:
    require(principal, action)
    user = session.scalar(
        select(User).where(User.id == user_id, user_filter(principal, User.agency_id))
    )
    if user is None:
        raise not_found(action, "user", user_id)
    if action == Action.USER_READ:
        audit.record(
            session, principal, Action.USER_READ, resource_type="user", resource_id=user.id
        )
    return user


def update_user(
    session: Session,
    principal: Principal,
    user_id: uuid.UUID,
    *,
    is_active: bool | None,
    role: str | None,
) -> User:
    """Deactivate/reactivate or change the role; either deactivation or a role change kills the
    user's tokens at once."""
    user = get_user(session, principal, user_id, Action.USER_UPDATE)
    _check_manageable_role(principal, user.role, Action.USER_UPDATE)
    if user.id == principal.id:
        raise Conflict("You may not deactivate yourself or change your own role.")
    changed: list[str] = []
    detail: dict[str, Any] = {}
    if role is not None and role != user.role:
        _check_manageable_role(principal, role, Action.USER_UPDATE)
        detail["role"] = {"from": user.role, "to": role}
        user.role = Role(role).value
        changed.append("role")
        if needs_approval(principal, user.role):
            user.pending_approval = True
            detail["pending_approval"] = True
        # A token carries what its holder could do when it was issued (and which steps, such as
        # a second factor the new role requires, were asked for then): a new role starts from a
        # new login.
        detail["tokens_revoked"] = revoke_user_tokens(session, user.id)
    if is_active is not None and is_active != user.is_active:
        user.is_active = is_active
        changed.append("is_active")
        detail["is_active"] = is_active
        if not is_active:
            detail["tokens_revoked"] = detail.get("tokens_revoked", 0) + revoke_user_tokens(
                session, user.id
            )
    session.flush()
    audit.record(
        session,
        principal,
        Action.USER_UPDATE,
        resource_type="user",
        resource_id=user.id,
        fields=changed,
        detail=detail or None,
    )
    return user


def generate_temporary_password() -> str:
    """About 120 bits, in groups that are easy to read out over a phone line."""
    raw = base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()
    return "-".join(raw[i : i + 6] for i in range(0, 24, 6))


def reset_password(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    user_id: uuid.UUID,
    *,
    reset_mfa: bool,
) -> tuple[User, str]:
    """A temporary password that must be changed at the next login; every token dies; the
    account's login throttle is forgiven. `reset_mfa` also removes a lost second factor.

    With the second factor gone, whoever holds the temporary password holds the account. So an
    agency admin may remove it only where a second person must approve the reset (a caseworker
    or supervisor, left `pending_approval`); any other account's second factor only a system
    admin removes. Every reset is audited with `detail.reset_mfa`, `detail.target_role`
    (and `case_content_role`, `pending_approval`), for the auditors to filter on."""
    user = get_user(session, principal, user_id, Action.USER_RESET_PASSWORD)
    _check_manageable_role(principal, user.role, Action.USER_RESET_PASSWORD)
    if user.id == principal.id:
        raise Conflict("Change your own password with POST /auth/password.")
    pending = needs_approval(principal, user.role)
    if reset_mfa and principal.role != Role.SYSTEM_ADMIN and not pending:
        raise Forbidden(
            "Only a system admin may remove the second factor of this account.",
            action=Action.USER_RESET_PASSWORD,
            resource_type="user",
            resource_id=user.id,
        )
    target_role = user.role
    temporary = generate_temporary_password()
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    if pending:
        user.pending_approval = True
    revoked = revoke_user_tokens(session, user.id)
    throttle.clear_account(session, throttle.account_key(keyring, user.username))
    fields = ["password"]
    if reset_mfa:
        mfa.clear(session, user)
        fields.append("totp")
    session.flush()
    audit.record(
        session,
        principal,
        Action.USER_RESET_PASSWORD,
        resource_type="user",
        resource_id=user.id,
        fields=fields,
        detail={
            "tokens_revoked": revoked,
            "reset_mfa": reset_mfa,
            "target_role": target_role,
            "case_content_role": target_role in CASE_CONTENT_ROLES,
            "pending_approval": user.pending_approval,
        },
    )
    return user, temporary


def approve_user(session: Session, principal: Principal, user_id: uuid.UUID) -> User:
    """The second person's approval of a pending account change: the account works again.

    A system admin approves any account, a supervisor its own agency's (another agency's is
    404); nobody approves their own account."""
    action = Action.USER_APPROVE
    require(principal, action)
    user = session.scalar(
        select(User).where(User.id == user_id, approver_filter(principal, User.agency_id))
    )
    if user is None:
        raise not_found(action, "user", user_id)
    if user.id == principal.id:
        raise Forbidden(
            "Nobody approves a change to their own account.",
            action=action,
            resource_type="user",
            resource_id=user.id,
        )
    if not user.pending_approval:
        raise Conflict("This account has no change waiting for approval.")
    user.pending_approval = False
    session.flush()
    audit.record(
        session,
        principal,
        action,
        resource_type="user",
        resource_id=user.id,
        fields=["pending_approval"],
        detail={"role": user.role, "agency_id": str(user.agency_id)},
    )
    return user


# --- partner API clients ------------------------------------------------------------------


def create_api_client(
    session: Session,
    principal: Principal,
    keyring: Keyring,
    *,
    agency_id: uuid.UUID,
    name: str,
    scopes: Sequence[str],
) -> tuple[ApiClient, str]:
    """A client id and a secret, returned once; only the secret's HMAC-SHA256 (under the
    keyring's `client-secret` system key) is kept: see `passwords.hash_client_secret`."""
    require(principal, Action.API_CLIENT_CREATE)
    agency = _agency_for_members(session, principal, agency_id, Action.API_CLIENT_CREATE)
    granted = sorted({Scope(s).value for s in scopes})
    if not granted:
        raise InvalidInput.field(("body", "scopes"), "must name at least one scope")
    name = " ".join(name.split())
    if not name:
        raise InvalidInput.field(("body", "name"), "must not be blank")
    secret = CLIENT_SECRET_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=CLIENT_ID_PREFIX + secrets.token_hex(10),
        secret_hash=hash_client_secret(keyring.system_key(CLIENT_SECRET_KEY_PURPOSE), secret),
        name=name,
        agency_id=agency.id,
        scopes=" ".join(granted),
    )
    session.add(client)
    session.flush()
    audit.record(
        session,
        principal,
        Action.API_CLIENT_CREATE,
        resource_type="api_client",
        resource_id=client.id,
        detail={"agency_id": str(agency.id), "scopes": granted},
    )
    return client, secret


def list_api_clients(
    session: Session,
    principal: Principal,
    *,
    limit: int,
    cursor: str | None,
    agency_id: uuid.UUID | None = None,
) -> Page[ApiClient]:
    require(principal, Action.API_CLIENT_LIST)
    limit = check_limit(limit)
    query = select(ApiClient).where(
        user_filter(principal, ApiClient.agency_id), ApiClient.revoked_at.is_(None)
    )
    if agency_id is not None:
        query = query.where(ApiClient.agency_id == agency_id)
    query = CLIENTS_BY_ID.select_page(query, cursor=cursor, limit=limit)
    page = CLIENTS_BY_ID.split(session.scalars(query).all(), limit, lambda c: (c.client_id,))
    audit.record(
        session,
        principal,
        Action.API_CLIENT_LIST,
        resource_type="api_client",
        detail={"count": len(page.items)},
    )
    return page


def delete_api_client(session: Session, principal: Principal, client_id: uuid.UUID) -> None:
    """Revoke the client (kept as a record, so the audit log's references stay meaningful)."""
    action = Action.API_CLIENT_DELETE
    require(principal, action)
    client = session.scalar(
        select(ApiClient).where(
            ApiClient.id == client_id,
            ApiClient.revoked_at.is_(None),
            user_filter(principal, ApiClient.agency_id),
        )
    )
    if client is None:
        raise not_found(action, "api_client", client_id)
    client.revoked_at = utcnow()
    revoked = revoke_client_tokens(session, client.id)
    session.flush()
    audit.record(
        session,
        principal,
        Action.API_CLIENT_DELETE,
        resource_type="api_client",
        resource_id=client.id,
        detail={"tokens_revoked": revoked},
    )
