"""Logging in and out, the caller's own account (password, second factor), client credentials.

Password hashing is slow on purpose (Argon2id): callers run these functions in a worker thread
(FastAPI runs the sync endpoints in its threadpool), never on the event loop.

Failed attempts are counted (`throttle`) and audited in their own transactions, because the
failed request itself is rolled back; a refusal raised here carries its audit action so the
error mapper records it (actor anonymous, the user's id as resource when the name is known:
never the name tried, never a password).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.base import utcnow
from models.identity import ApiClient, User
from services import audit
from services.actions import Action
from services.audit import Actor, current_request
from services.audit.enums import ActorType
from services.config import Settings
from services.crypto import Keyring, passwords
from services.crypto.passwords import DUMMY_HASH, hash_password, verify_and_upgrade
from services.database import abandon_request, end_request_reads
from services.errors import (
    Conflict,
    Forbidden,
    InvalidClient,
    InvalidInput,
    InvalidScope,
    RateLimited,
    Unauthenticated,
)
from services.identity import mfa, throttle
from services.identity.enums import Role, Scope, TokenStep
from services.identity.rules import check_new_password, normalise_username
from services.identity.tokens import (
    IssuedToken,
    issue_client_token,
    issue_user_token,
    restrict_user_tokens,
    revoke_token,
    revoke_user_tokens,
    set_restrictions,
)
from services.policy import Principal

PASSWORD_CHANGE = TokenStep.PASSWORD_CHANGE
MFA_ENROL = TokenStep.MFA_ENROL
KNOWN_SCOPES = frozenset(s.value for s in Scope)
WRONG_CREDENTIALS = "Wrong username or password."


@dataclass(frozen=True)
class LoginResult:
    token: IssuedToken
    user_id: uuid.UUID
    restricted_to: frozenset[str]


def user_actor(user: User) -> Actor:
    return Actor(type=ActorType.USER, id=user.id, role=user.role, agency_id=user.agency_id)


def required_steps(user: User, settings: Settings) -> frozenset[str]:
    """What a user must do before a token is good for anything else."""
    steps: set[str] = set()
    if user.must_change_password:
        steps.add(PASSWORD_CHANGE)
    if user.role in settings.mfa_required_roles and user.totp_enabled_at is None:
        steps.add(MFA_ENROL)
    return frozenset(steps)


def _find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == normalise_username(username)))


def _begin_attempt(
    session_factory: sessionmaker[Session],
    settings: Settings,
    *,
    key: str,
    address: str | None,
    user_id: uuid.UUID | None,
    actor: Actor | None = None,
    throttled_action: Action = Action.AUTH_LOGIN_THROTTLED,
) -> throttle.Attempt:
    """Record the attempt before its slow check (see `throttle`); 429 when over a limit.

    The caller has ended the request's transaction first (`end_request_reads` or
    `abandon_request`): on SQLite the attempt's own transaction needs the write lock."""
    attempt = throttle.begin_attempt(session_factory, settings, key=key, address=address)
    if attempt.retry_after is not None:
        audit.record_refusal(
            session_factory,
            actor or audit.anonymous(),
            throttled_action,
            resource_type="user" if user_id else None,
            resource_id=user_id,
            detail={"retry_after": attempt.retry_after},
        )
        raise RateLimited(attempt.retry_after)
    return attempt


def _alert_if_distributed(
    session_factory: sessionmaker[Session],
    settings: Settings,
    attempt: throttle.Attempt,
    user_id: uuid.UUID | None,
) -> None:
    """Many failures for one account from several addresses: an alert, never a lockout."""
    if throttle.distributed_failures(attempt, settings):
        audit.record_refusal(
            session_factory,
            audit.anonymous(),
            Action.AUTH_LOGIN_DISTRIBUTED_FAILURES,
            resource_type="user" if user_id else None,
            resource_id=user_id,
            detail={
                "failures": attempt.account_failures,
                "addresses": attempt.account_addresses,
                "window_minutes": settings.login_window_minutes,
            },
        )


def login(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    keyring: Keyring,
    *,
    username: str,
    password: str,
    totp_code: str | None = None,
    recovery_code: str | None = None,
) -> LoginResult:
    """Check the password (and second factor), then issue a new token.

    Unknown user, inactive user and wrong password are one answer, after one Argon2 check each.
    The attempt is recorded (committed) before the check, so parallel guesses cannot slip past
    the throttle; no transaction is open during the check.
    """
    key = throttle.account_key(keyring, username)
    address = current_request().client_address
    user = _find_user(session, username)
    user_id = user.id if user is not None else None
    encoded = user.password_hash if user is not None else DUMMY_HASH
    end_request_reads(session)
    attempt = _begin_attempt(session_factory, settings, key=key, address=address, user_id=user_id)

    def fail() -> Unauthenticated:
        abandon_request(session)
        _alert_if_distributed(session_factory, settings, attempt, user_id)
        return Unauthenticated(
            WRONG_CREDENTIALS,
            action=Action.AUTH_LOGIN_FAILED,
            resource_type="user" if user_id else None,
            resource_id=user_id,
        )

    ok, upgraded = verify_and_upgrade(password, encoded)
    if user is None:
        raise fail()
    # The user is read again in a new transaction; a password changed meanwhile is a failure.
    if not ok or not user.is_active or user.password_hash != encoded:
        raise fail()
    if user.pending_approval:
        raise _pending(session, session_factory, attempt, user_id)
    if user.totp_enabled_at is not None:
        _check_second_factor(
            session,
            session_factory,
            keyring,
            user,
            attempt,
            totp_code=totp_code,
            recovery_code=recovery_code,
            fail=fail,
        )

    if upgraded is not None:
        user.password_hash = upgraded
    throttle.succeeded(session, attempt)
    steps = required_steps(user, settings)
    token = issue_user_token(session, user, settings, restricted_to=steps)
    audit.record(
        session,
        user_actor(user),
        Action.AUTH_LOGIN,
        resource_type="token",
        resource_id=token.token_id,
        detail={"restricted_to": sorted(steps)} if steps else None,
    )
    return LoginResult(token=token, user_id=user.id, restricted_to=steps)


def _check_second_factor(
    session: Session,
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    user: User,
    attempt: throttle.Attempt,
    *,
    totp_code: str | None,
    recovery_code: str | None,
    fail: Callable[[], Unauthenticated],
) -> None:
    """At login, after the right password: a recovery code or a TOTP code, else a refusal."""
    if recovery_code:
        if not mfa.consume_recovery_code(session, user, recovery_code):
            raise fail()
        audit.record(
            session,
            user_actor(user),
            Action.MFA_RECOVERY_CODE_USED,
            resource_type="user",
            resource_id=user.id,
            detail={"remaining": mfa.remaining_recovery_codes(session, user.id)},
        )
    elif totp_code:
        if not mfa.consume_code(session, keyring, user, totp_code):
            raise fail()
    else:
        # The right password without the code: audited, but not counted as a failure (a user
        # who forgot to type the code must not lock themselves out; whoever sent it learns
        # nothing they did not know).
        user_id = user.id
        abandon_request(session)
        throttle.forget(session_factory, attempt)
        audit.record_refusal(
            session_factory,
            audit.anonymous(),
            Action.AUTH_LOGIN_MFA_REQUIRED,
            resource_type="user",
            resource_id=user_id,
        )
        raise InvalidInput.field(
            ("body", "totp_code"),
            "a second-factor code (or a recovery_code) is required for this account",
        )


def _pending(
    session: Session,
    session_factory: sessionmaker[Session],
    attempt: throttle.Attempt,
    user_id: uuid.UUID | None,
) -> Unauthenticated:
    """The right password for an account whose last change (by an agency admin) waits for a
    second person's approval. Answered exactly like a wrong password: whoever made the change
    knows the password, and must learn nothing from trying it. Audited under its own action,
    which is the reason; not counted as a failed guess (the password was right)."""
    abandon_request(session)
    throttle.forget(session_factory, attempt)
    return Unauthenticated(
        WRONG_CREDENTIALS,
        action=Action.AUTH_LOGIN_PENDING_APPROVAL,
        resource_type="user",
        resource_id=user_id,
    )


def logout(session: Session, principal: Principal) -> None:
    if principal.token_id is not None:
        revoke_token(session, principal.token_id)
    audit.record(
        session,
        principal,
        Action.AUTH_LOGOUT,
        resource_type="token",
        resource_id=principal.token_id,
    )


# --- the caller's own account ---------------------------------------------------------------


def _require_step(principal: Principal, step: TokenStep | None, action: Action) -> None:
    """Users only; a restricted token only for the step it was restricted to."""
    if not principal.is_user:
        raise Forbidden("Only staff users have a password and a second factor.", action=action)
    if principal.restricted_to and (step is None or step not in principal.restricted_to):
        raise Forbidden(
            "This token is only good for: " + ", ".join(sorted(principal.restricted_to)) + ".",
            action=action,
        )


def _load_self(session: Session, principal: Principal) -> User:
    user = session.get(User, principal.id)
    if user is None:  # deleted under a live token: treat the token as dead
        raise Unauthenticated("The token is invalid, expired or revoked.")
    return user


def _reauthenticate(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    keyring: Keyring,
    user: User,
    password: str,
    *,
    field: str,
    action: Action,
) -> None:
    """Check the caller's own password again, throttled like a login (recorded before the
    check, no transaction open during it). Call it before writing anything: the request's
    transaction is ended here, and `user` is read again afterwards."""
    key = throttle.account_key(keyring, user.username)
    address = current_request().client_address
    actor, user_id, encoded = user_actor(user), user.id, user.password_hash
    end_request_reads(session)
    attempt = _begin_attempt(
        session_factory,
        settings,
        key=key,
        address=address,
        user_id=user_id,
        actor=actor,
        throttled_action=action,
    )
    ok, upgraded = verify_and_upgrade(password, encoded)
    if not ok or user.password_hash != encoded:
        abandon_request(session)
        audit.record_refusal(
            session_factory,
            actor,
            action,
            resource_type="user",
            resource_id=user_id,
            detail={"reason": "wrong_password"},
        )
        raise InvalidInput.field(("body", field), "is not your current password")
    throttle.succeeded(session, attempt)
    if upgraded is not None:
        user.password_hash = upgraded


def _refresh_token_steps(
    session: Session, principal: Principal, user: User, settings: Settings
) -> frozenset[str]:
    steps = required_steps(user, settings)
    if principal.token_id is not None:
        set_restrictions(session, principal.token_id, steps)
    return steps


def change_password(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    keyring: Keyring,
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
) -> frozenset[str]:
    """Change the caller's password; every other token of the user dies. Returns the steps the
    caller's own token is still restricted to (empty when it is now a full token)."""
    _require_step(principal, PASSWORD_CHANGE, Action.AUTH_PASSWORD_CHANGE)
    user = _load_self(session, principal)
    check_new_password(new_password, loc=("body", "new_password"))
    if new_password == current_password:
        raise InvalidInput.field(("body", "new_password"), "must differ from the current one")
    if new_password.casefold() == user.username.casefold():
        raise InvalidInput.field(("body", "new_password"), "must not be your username")
    _reauthenticate(
        session,
        session_factory,
        settings,
        keyring,
        user,
        current_password,
        field="current_password",
        action=Action.AUTH_PASSWORD_CHANGE,
    )
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    revoked = revoke_user_tokens(session, user.id, keep=principal.token_id)
    steps = _refresh_token_steps(session, principal, user, settings)
    audit.record(
        session,
        principal,
        Action.AUTH_PASSWORD_CHANGE,
        resource_type="user",
        resource_id=user.id,
        fields=["password"],
        detail={"tokens_revoked": revoked},
    )
    return steps


def enrol_mfa(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    keyring: Keyring,
    principal: Principal,
    *,
    password: str | None,
) -> mfa.Enrolment:
    """Start enrolment; always with the current password, whatever the token. A token alone,
    even one restricted to `mfa.enrol` and issued moments ago, must not bind an authenticator to
    the account: whoever stole or was handed it would own the account's second factor."""
    _require_step(principal, MFA_ENROL, Action.MFA_ENROL)
    user = _load_self(session, principal)
    if user.totp_enabled_at is not None:
        raise Conflict("A second factor is already enabled; disable it first to enrol anew.")
    if not password:
        raise InvalidInput.field(("body", "password"), "your current password is required to enrol")
    _reauthenticate(
        session,
        session_factory,
        settings,
        keyring,
        user,
        password,
        field="password",
        action=Action.MFA_ENROL,
    )
    if user.totp_enabled_at is not None:  # enabled meanwhile, by another request
        raise Conflict("A second factor is already enabled; disable it first to enrol anew.")
    enrolment = mfa.start_enrolment(session, keyring, user, issuer=settings.totp_issuer)
    audit.record(session, principal, Action.MFA_ENROL, resource_type="user", resource_id=user.id)
    return enrolment


def confirm_mfa(
    session: Session, settings: Settings, keyring: Keyring, principal: Principal, *, code: str
) -> frozenset[str]:
    """Turn a pending enrolment on with a first code; lifts the token's `mfa.enrol` restriction."""
    _require_step(principal, MFA_ENROL, Action.MFA_CONFIRM)
    user = _load_self(session, principal)
    if user.totp_enabled_at is not None:
        raise Conflict("The second factor is already enabled.")
    if user.totp_secret is None:
        raise Conflict("Nothing to confirm: enrol first (POST /auth/mfa/enrol).")
    if not mfa.consume_code(session, keyring, user, code):
        raise InvalidInput.field(("body", "code"), "does not match the authenticator's code")
    user.totp_enabled_at = utcnow()
    steps = _refresh_token_steps(session, principal, user, settings)
    audit.record(session, principal, Action.MFA_CONFIRM, resource_type="user", resource_id=user.id)
    return steps


def disable_mfa(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    keyring: Keyring,
    principal: Principal,
    *,
    password: str,
) -> frozenset[str]:
    """Turn the second factor off (needs the password again). For a role that requires one,
    every live token of the user (the caller's included) becomes good only for enrolling again."""
    _require_step(principal, None, Action.MFA_DISABLE)
    user = _load_self(session, principal)
    if user.totp_secret is None and user.totp_enabled_at is None:
        raise Conflict("No second factor is enrolled.")
    _reauthenticate(
        session,
        session_factory,
        settings,
        keyring,
        user,
        password,
        field="password",
        action=Action.MFA_DISABLE,
    )
    mfa.clear(session, user)
    steps = _refresh_token_steps(session, principal, user, settings)
    # Every other live token of the account was issued with the factor now gone: for a role
    # that requires one, none may stay good for more than enrolling again.
    restricted = restrict_user_tokens(session, user.id, steps)
    audit.record(
        session,
        principal,
        Action.MFA_DISABLE,
        resource_type="user",
        resource_id=user.id,
        detail={"tokens_restricted": restricted} if restricted else None,
    )
    return steps


# --- partner clients: OAuth2 client credentials ---------------------------------------------


def parse_scopes(raw: str | None) -> frozenset[str]:
    return frozenset((raw or "").split())


def _client_actor(client: ApiClient, scopes: frozenset[str]) -> Actor:
    return Actor(
        type=ActorType.CLIENT,
        id=client.id,
        scopes=" ".join(sorted(scopes)),
        agency_id=client.agency_id,
    )


def client_credentials(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    keyring: Keyring,
    *,
    client_id: str,
    client_secret: str,
    scope: str | None,
) -> tuple[IssuedToken, frozenset[str]]:
    """RFC 6749 §4.4: a token for a partner client, with at most the scopes it was granted.

    The secret is checked with one HMAC (`passwords.verify_client_secret`), the same work for an
    unknown client id; failures are throttled per address like logins. A secret stored by an
    earlier release as an Argon2id hash is still checked that way (only for that known client)
    and replaced by the HMAC at its first success."""
    key = throttle.client_key(keyring, client_id)
    address = current_request().client_address
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    live = client is not None and client.revoked_at is None
    stored = client.secret_hash if client is not None and live else None
    known_id = client.id if client is not None else None
    end_request_reads(session)
    attempt = throttle.begin_attempt(session_factory, settings, key=key, address=address)
    if attempt.retry_after is not None:
        audit.record_refusal(
            session_factory,
            audit.anonymous(),
            Action.AUTH_TOKEN_THROTTLED,
            resource_type="api_client" if known_id else None,
            resource_id=known_id,
            detail={"retry_after": attempt.retry_after},
        )
        raise RateLimited(attempt.retry_after)
    hmac_key = keyring.system_key(passwords.CLIENT_SECRET_KEY_PURPOSE)
    upgraded: str | None = None
    if stored is not None and not passwords.is_client_secret_hash(stored):
        ok = passwords.verify_password(client_secret, stored)  # an earlier release's Argon2id
        upgraded = passwords.hash_client_secret(hmac_key, client_secret) if ok else None
    else:
        ok = passwords.verify_client_secret(hmac_key, client_secret, stored)
    if client is not None and (client.revoked_at is not None or client.secret_hash != stored):
        live = False  # revoked or re-keyed meanwhile
    if client is None or not live or not ok:
        abandon_request(session)
        audit.record_refusal(
            session_factory,
            audit.anonymous(),
            Action.AUTH_TOKEN_FAILED,
            resource_type="api_client" if known_id else None,
            resource_id=known_id,
            detail={"error": "invalid_client"},
        )
        raise InvalidClient("Unknown client or wrong secret.")
    granted = parse_scopes(client.scopes)
    requested = parse_scopes(scope)
    if not requested <= granted:
        actor = _client_actor(client, granted)
        abandon_request(session)
        throttle.forget(session_factory, attempt)  # the right secret: not a failure
        audit.record_refusal(
            session_factory,
            actor,
            Action.AUTH_TOKEN_FAILED,
            resource_type="api_client",
            resource_id=actor.id,
            detail={"error": "invalid_scope"},
        )
        raise InvalidScope("A requested scope was not granted to this client.")
    scopes = requested or granted
    if upgraded is not None:
        client.secret_hash = upgraded
    throttle.succeeded(session, attempt)
    token = issue_client_token(session, client, scopes, settings)
    audit.record(
        session,
        _client_actor(client, scopes),
        Action.AUTH_TOKEN,
        resource_type="token",
        resource_id=token.token_id,
    )
    return token, scopes


__all__ = [
    "KNOWN_SCOPES",
    "MFA_ENROL",
    "PASSWORD_CHANGE",
    "LoginResult",
    "Role",
    "change_password",
    "client_credentials",
    "confirm_mfa",
    "disable_mfa",
    "enrol_mfa",
    "login",
    "logout",
    "required_steps",
]
