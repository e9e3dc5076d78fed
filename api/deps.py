"""Request dependencies as `Annotated` aliases: the session, settings and the calling principal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.routing import SESSION_STATE_KEY
from services.alerts.service import check_not_suspended
from services.config import Settings
from services.crypto import Keyring
from services.errors import Unauthenticated
from services.identity.tokens import resolve_token
from services.policy import Principal

bearer = HTTPBearer(
    auto_error=False, description="An opaque `hvn_…` token from /auth/login or /auth/token."
)


async def get_session(request: Request) -> Session:
    session: Session | None = getattr(request.state, SESSION_STATE_KEY, None)
    if session is None:
        session = request.app.state.session_factory()
        setattr(request.state, SESSION_STATE_KEY, session)
    return session


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.runtime.keyring
    return keyring


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
KeyringDep = Annotated[Keyring, Depends(get_keyring)]


def get_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("A bearer token is required.")
    principal = resolve_token(session, credentials.credentials, settings)
    request.state.principal = principal
    check_not_suspended(session, settings, principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]

IfMatchHeader = Annotated[
    str | None,
    Header(alias="If-Match", description='The version you read, as its ETag: `"3"`.'),
]
REPLAY_HEADER = "Idempotent-Replayed"
"""Set to `true` on a creating POST's answer when an Idempotency-Key replay returned an earlier
record (nothing new was created)."""

REPLAY_HEADER_DOC: dict[str, Any] = {
    "description": "`true` when an Idempotency-Key replay returned an earlier record (nothing "
    "new was created)",
    "schema": {"type": "string"},
}
"""How a creating route's 201 documents `REPLAY_HEADER` (one text for every such route)."""

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Retry-safe key: the same key and body within 24 h returns the same record. "
        "Make it random (a fresh UUID per request), never from case data such as a name.",
    ),
]
