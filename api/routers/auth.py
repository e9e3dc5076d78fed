"""Routes: logging in and out, the caller's own account, partner client credentials.

The endpoints are sync `def`s on purpose: FastAPI runs them in its threadpool, so the slow
Argon2id checks never block the event loop.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated

from fastapi import APIRouter, Body, Form, Header, Request, Response, status
from sqlalchemy.orm import Session, sessionmaker

from api.deps import KeyringDep, PrincipalDep, SessionDep, SettingsDep
from api.openapi import ANY_CALLER, ANY_STAFF, requires
from api.problems import PROBLEM_MEDIA_TYPE, Problem
from api.routing import TransactionalRoute
from api.schemas.identity import (
    NO_CONTROL_CHARACTERS,
    ClientMe,
    ClientTokenResponse,
    LoginRequest,
    LoginResponse,
    MfaConfirmRequest,
    MfaDisableRequest,
    MfaEnrolment,
    MfaEnrolRequest,
    PasswordChangeRequest,
    StepsResponse,
    UserMe,
)
from models.identity import User
from services.errors import InvalidClient, UnsupportedGrantType
from services.identity import auth

router = APIRouter(route_class=TransactionalRoute)
"""Set here: routes are built by this router, so `api_router`'s route_class alone does not
apply (each request's session must commit through `TransactionalRoute`)."""

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _problem(description: str) -> dict[str, object]:
    return {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": description}


def _session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


@router.post(
    "/auth/login",
    response_model=LoginResponse,
    summary="Log in with username and password (and a second-factor code when enabled)",
    openapi_extra={"security": []},
    responses={
        401: _problem("Wrong username or password (the same for unknown users)"),
        429: _problem("Too many failed attempts for this account or address; see Retry-After"),
    },
)
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
) -> LoginResponse:
    result = auth.login(
        session,
        _session_factory(request),
        settings,
        keyring,
        username=body.username,
        password=body.password,
        totp_code=body.totp_code,
        recovery_code=body.recovery_code,
    )
    response.headers.update(NO_STORE)
    return LoginResponse(
        access_token=result.token.value,
        expires_in=result.token.expires_in,
        restricted_to=sorted(result.restricted_to),
    )


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Log out: the token is dead from now on",
    openapi_extra=requires(ANY_CALLER),
)
def logout(principal: PrincipalDep, session: SessionDep) -> None:
    auth.logout(session, principal)


@router.get(
    "/auth/me",
    response_model=UserMe | ClientMe,
    summary="Who the token belongs to: a staff user or a partner client",
    openapi_extra=requires(ANY_CALLER),
)
def me(principal: PrincipalDep, session: SessionDep) -> UserMe | ClientMe:
    if principal.is_client:
        return ClientMe(
            client_id=principal.name,
            agency_id=principal.agency_id,
            scopes=sorted(principal.scopes),
        )
    user = session.get(User, principal.id)
    return UserMe(
        id=principal.id,
        username=principal.name,
        role=principal.role.value if principal.role else "caseworker",
        agency_id=principal.agency_id,
        mfa_enabled=bool(user and user.totp_enabled_at),
        must_change_password=bool(user and user.must_change_password),
        restricted_to=sorted(principal.restricted_to),
    )


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("Malformed Basic credentials.") from None
    client_id, sep, secret = raw.partition(":")
    # No control characters in the id (PostgreSQL text cannot hold NUL: a 500 otherwise).
    if not sep or not re.fullmatch(NO_CONTROL_CHARACTERS, client_id):
        raise InvalidClient("Malformed Basic credentials.")
    return client_id, secret


@router.post(
    "/auth/token",
    response_model=ClientTokenResponse,
    summary="OAuth2 client credentials: a token for a partner API client",
    openapi_extra={"security": []},
    responses={
        400: _problem(
            "`invalid_scope` (a scope the client was not granted) or another "
            "RFC 6749 error, in the `error` member"
        ),
        401: _problem("`invalid_client`: unknown client or wrong secret"),
        429: _problem("Too many failed client authentications from this address; see Retry-After"),
    },
)
def token(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    grant_type: Annotated[
        str, Form(max_length=64, description="Always `client_credentials` (RFC 6749, 4.4).")
    ],
    client_id: Annotated[
        str | None,
        Form(
            max_length=200,
            pattern=NO_CONTROL_CHARACTERS,
            description="Your API client's id (`hvc_...`), unless sent with HTTP Basic.",
        ),
    ] = None,
    client_secret: Annotated[
        str | None,
        Form(
            max_length=500,
            description="The secret shown once when the client was created, unless sent with "
            "HTTP Basic.",
        ),
    ] = None,
    scope: Annotated[
        str | None,
        Form(
            max_length=500,
            description="Space-separated scopes wanted (a subset of the client's own); absent: "
            "every scope the client was granted.",
        ),
    ] = None,
    authorization: Annotated[
        str | None,
        Header(include_in_schema=False),
    ] = None,
) -> ClientTokenResponse:
    if grant_type != "client_credentials":
        raise UnsupportedGrantType("Only grant_type=client_credentials is supported.")
    basic = _basic_credentials(authorization)
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or client_secret is None:
        raise InvalidClient("client_id and client_secret are required.")
    issued, scopes = auth.client_credentials(
        session,
        _session_factory(request),
        settings,
        keyring,
        client_id=client_id,
        client_secret=client_secret,
        scope=scope,
    )
    response.headers.update(NO_STORE)
    return ClientTokenResponse(
        access_token=issued.value, expires_in=issued.expires_in, scope=" ".join(sorted(scopes))
    )


@router.post(
    "/auth/password",
    response_model=StepsResponse,
    summary="Change your own password (needs the current one); your other tokens die",
    responses={429: _problem("Too many wrong passwords; see Retry-After")},
    openapi_extra=requires(ANY_STAFF),
)
def change_password(
    body: PasswordChangeRequest,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
) -> StepsResponse:
    steps = auth.change_password(
        session,
        _session_factory(request),
        settings,
        keyring,
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    return StepsResponse(restricted_to=sorted(steps))


@router.post(
    "/auth/mfa/enrol",
    response_model=MfaEnrolment,
    summary="Start TOTP enrolment: an otpauth:// URI and one-time recovery codes",
    description='Needs `{"password": "…"}` (the current password), except with a token '
    "restricted to `mfa.enrol` (issued by a login that just checked the password).",
    responses={
        409: _problem("A second factor is already enabled"),
        429: _problem("Too many wrong passwords; see Retry-After"),
    },
    openapi_extra=requires(ANY_STAFF),
)
def mfa_enrol(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    body: Annotated[MfaEnrolRequest | None, Body()] = None,
) -> MfaEnrolment:
    enrolment = auth.enrol_mfa(
        session,
        _session_factory(request),
        settings,
        keyring,
        principal,
        password=body.password if body is not None else None,
    )
    response.headers.update(NO_STORE)
    return MfaEnrolment(
        otpauth_uri=enrolment.otpauth_uri,
        secret=enrolment.secret,
        recovery_codes=enrolment.recovery_codes,
    )


@router.post(
    "/auth/mfa/confirm",
    response_model=StepsResponse,
    summary="Confirm TOTP enrolment with a first code: the second factor is on",
    responses={409: _problem("Nothing to confirm, or already enabled")},
    openapi_extra=requires(ANY_STAFF),
)
def mfa_confirm(
    body: MfaConfirmRequest,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
) -> StepsResponse:
    steps = auth.confirm_mfa(session, settings, keyring, principal, code=body.code)
    return StepsResponse(restricted_to=sorted(steps))


@router.post(
    "/auth/mfa/disable",
    response_model=StepsResponse,
    summary="Turn the second factor off (needs your password)",
    responses={
        409: _problem("No second factor is enrolled"),
        429: _problem("Too many wrong passwords; see Retry-After"),
    },
    openapi_extra=requires(ANY_STAFF),
)
def mfa_disable(
    body: MfaDisableRequest,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
) -> StepsResponse:
    steps = auth.disable_mfa(
        session, _session_factory(request), settings, keyring, principal, password=body.password
    )
    return StepsResponse(restricted_to=sorted(steps))
