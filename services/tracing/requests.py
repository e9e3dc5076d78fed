"""Tracing requests: create, list, read, close, reunify (owned and seen like cases).

Everything the enquirer said (their name, relationship, phone, place; the sought child's names,
parents' names, sex, birth date or age, where and when last seen; circumstances) is one
AES-256-GCM blob under the request's own data key; so are the reunification and closure details
added later. Plain columns: ids, reference, agency, owner, status, version, dates. Creating a
request writes its name tokens and runs the matcher against cases at once.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.tracing import TracingMatch, TracingRequest
from services import audit
from services.config import Settings
from services.crypto import Keyring, create_data_key
from services.errors import FieldProblem, InvalidInput, NotFound
from services.kit import idempotency
from services.kit.cursor import Keyset, SortKey
from services.kit.versions import Versioned
from services.policy import Action, Principal, require, tracing_request_filter
from services.tracing.content import (
    DOCUMENT_KEYS,
    decrypt_document,
    encrypt_document,
    request_data_key,
)
from services.tracing.matching import match_request
from services.tracing.reunification import record_on_case
from services.tracing.states import MatchStatus, RequestEvent, RequestStatus, next_request_status
from services.tracing.tokens import request_parts, tokenizer, write_request_tokens

RESOURCE = "tracing_request"
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RECENT = Keyset(
    "tracing_recent",
    (
        SortKey(TracingRequest.created_at, datetime, descending=True),
        SortKey(TracingRequest.id, uuid.UUID, descending=True),
    ),
)


@dataclass(frozen=True)
class RequestView:
    request: TracingRequest
    document: dict[str, Any]
    replayed: bool = False
    """True when an `Idempotency-Key` replay returned an earlier request (nothing was created)."""

    @property
    def etag(self) -> str:
        return f'"{self.request.version}"'

    def as_dict(self) -> dict[str, Any]:
        row = self.request
        return {
            "id": row.id,
            "reference": row.reference,
            "version": row.version,
            "status": row.status,
            "agency_id": row.agency_id,
            "owner_id": row.owner_id,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            **{key: self.document.get(key) for key in DOCUMENT_KEYS},
        }


@dataclass(frozen=True)
class RequestPage:
    items: list[RequestView]
    next_cursor: str | None


def _reference() -> str:
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"TR-{chars[:4]}-{chars[4:]}"


def not_found(action: Action, request_id: uuid.UUID) -> NotFound:
    return NotFound(
        "No tracing request with that id.",
        action=action,
        resource_type=RESOURCE,
        resource_id=request_id,
    )


def load_visible_request(
    session: Session,
    principal: Principal,
    request_id: uuid.UUID,
    action: Action,
    *,
    for_update: bool = False,
) -> TracingRequest:
    """Role check, then the request through `policy.tracing_request_filter`, else 404."""
    require(principal, action)
    query = select(TracingRequest).where(
        TracingRequest.id == request_id,
        tracing_request_filter(principal, TracingRequest.agency_id, TracingRequest.owner_id),
    )
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    request = session.execute(query).scalar_one_or_none()
    if request is None:
        raise not_found(action, request_id)
    return request


REQUEST_VERSIONS = Versioned("tracing request")


def check_version(request: TracingRequest, if_match: str | None) -> None:
    """Optional `If-Match: "<version>"` on every change of a request; stale is 412."""
    REQUEST_VERSIONS.check(
        request.version, REQUEST_VERSIONS.parse_if_match(if_match, required=False)
    )


def _validate(body: Mapping[str, Any], today: date) -> None:
    problems: list[FieldProblem] = []
    sought = body.get("sought") or {}
    for key in ("date_of_birth", "last_seen_on"):
        value = sought.get(key)
        if isinstance(value, str) and date.fromisoformat(value) > today:
            problems.append(FieldProblem(("body", "sought", key), "Date is in the future."))
    if problems:
        raise InvalidInput(problems)


def create_request(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    principal: Principal,
    body: Mapping[str, Any],
    *,
    idempotency_key: str | None = None,
) -> RequestView:
    """File an enquiry (`body` in JSON form); the caller becomes the owner. Matched at once.
    A retry with the same `idempotency_key` and body returns the first request (`replayed`)."""
    require(principal, Action.TRACING_CREATE)
    now = utcnow()
    _validate(body, now.date())
    request_id = uuid.uuid4()
    claim = idempotency.claim(
        session,
        keyring,
        principal,
        idempotency_key,
        operation="tracing_request.create",
        body=dict(body),
        resource_type=RESOURCE,
        resource_id=request_id,
        case_id=None,
    )
    if claim.replay is not None:
        return _replay(session, keyring, principal, claim.replay.resource_id)
    data_key_id, dek = create_data_key(session, keyring)
    document = {key: body.get(key) for key in ("enquirer", "sought", "circumstances")}
    request = TracingRequest(
        id=request_id,
        reference=_reference(),
        agency_id=principal.agency_id,
        owner_id=principal.id,
        status=RequestStatus.OPEN.value,
        data_key_id=data_key_id,
        content=encrypt_document(dek, request_id, document),
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    tokens = tokenizer(keyring, settings.planned_case_count).tokens(request_parts(document))
    write_request_tokens(session, tokens, request.id, replace=False)
    proposed = match_request(session, keyring, settings, request, document, tokens)
    audit.record(
        session,
        principal,
        Action.TRACING_CREATE,
        resource_type=RESOURCE,
        resource_id=request.id,
        fields=_field_paths(document),
        detail={"matches_proposed": proposed},
    )
    return RequestView(request, document)


def _replay(
    session: Session, keyring: Keyring, principal: Principal, request_id: uuid.UUID
) -> RequestView:
    """The request an earlier call with the same key created, audited as a replay."""
    earlier = session.get(TracingRequest, request_id)
    if earlier is None:  # pragma: no cover - requests are never deleted
        raise InvalidInput.field(idempotency.HEADER_LOC, "The earlier request no longer exists.")
    document = decrypt_document(request_data_key(session, keyring, earlier), earlier)
    audit.record(
        session,
        principal,
        Action.TRACING_CREATE,
        resource_type=RESOURCE,
        resource_id=earlier.id,
        detail={"idempotent_replay": True},
    )
    return RequestView(earlier, document, replayed=True)


def _field_paths(document: Mapping[str, Any]) -> list[str]:
    paths: list[str] = []
    for section in ("enquirer", "sought"):
        values = document.get(section) or {}
        paths.extend(f"{section}.{key}" for key, value in values.items() if value is not None)
    if document.get("circumstances") is not None:
        paths.append("circumstances")
    return paths


def read_request(
    session: Session, keyring: Keyring, principal: Principal, request_id: uuid.UUID
) -> RequestView:
    request = load_visible_request(session, principal, request_id, Action.TRACING_READ)
    view = RequestView(
        request, decrypt_document(request_data_key(session, keyring, request), request)
    )
    audit.record(
        session,
        principal,
        Action.TRACING_READ,
        resource_type=RESOURCE,
        resource_id=request.id,
    )
    return view


def list_requests(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> RequestPage:
    """Newest first, among the requests the caller may see."""
    require(principal, Action.TRACING_LIST)
    query = select(TracingRequest).where(
        tracing_request_filter(principal, TracingRequest.agency_id, TracingRequest.owner_id)
    )
    if status is not None:
        query = query.where(TracingRequest.status == status)
    rows = list(session.scalars(RECENT.select_page(query, cursor=cursor, limit=limit)))
    page = RECENT.split(rows, limit, lambda row: (row.created_at, row.id))
    items = [
        RequestView(row, decrypt_document(request_data_key(session, keyring, row), row))
        for row in page.items
    ]
    audit.record(
        session,
        principal,
        Action.TRACING_LIST,
        resource_type=RESOURCE,
        detail={"count": len(items), "filters": ["status"] if status else []},
    )
    return RequestPage(items, page.next_cursor)


def _change(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    request_id: uuid.UUID,
    action: Action,
    event: RequestEvent,
    key: str,
    details: dict[str, Any],
    if_match: str | None,
) -> tuple[RequestView, list[uuid.UUID]]:
    request = load_visible_request(session, principal, request_id, action, for_update=True)
    check_version(request, if_match)
    status = next_request_status(request.status, event)
    confirmed = list(
        session.scalars(
            select(TracingMatch.case_id).where(
                TracingMatch.request_id == request.id,
                TracingMatch.status == MatchStatus.CONFIRMED.value,
            )
        )
    )
    dek = request_data_key(session, keyring, request)
    document = decrypt_document(dek, request)
    document[key] = details
    request.content = encrypt_document(dek, request.id, document)
    request.status = status.value
    request.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        principal,
        action,
        resource_type=RESOURCE,
        resource_id=request.id,
        fields=[f"{key}.{name}" for name, value in details.items() if value is not None],
        detail={"status": status.value},
    )
    return RequestView(request, document), confirmed


def close_request(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    request_id: uuid.UUID,
    reason: str,
    *,
    if_match: str | None = None,
) -> RequestView:
    view, _ = _change(
        session,
        keyring,
        principal,
        request_id,
        Action.TRACING_CLOSE,
        RequestEvent.CLOSE,
        "closure",
        {"reason": reason, "closed_at": utcnow().isoformat(), "closed_by": str(principal.id)},
        if_match,
    )
    return view


def reunify(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    reunified_on: date,
    reunified_with: str,
    note: str | None,
    if_match: str | None = None,
) -> RequestView:
    """Needs a confirmed match (the request is `matched`); records a reunification event on
    every confirmed case, so the child's case shows it."""
    if reunified_on > utcnow().date():
        raise InvalidInput.field(("body", "reunified_on"), "Date is in the future.")
    view, cases = _change(
        session,
        keyring,
        principal,
        request_id,
        Action.TRACING_REUNIFY,
        RequestEvent.REUNIFY,
        "reunification",
        {
            "reunified_on": reunified_on.isoformat(),
            "with": reunified_with,
            "note": note,
            "recorded_by": str(principal.id),
        },
        if_match,
    )
    for case_id in cases:
        entry = record_on_case(
            session,
            keyring,
            principal,
            case_id,
            view.request,
            {"reunified_on": reunified_on.isoformat(), "with": reunified_with, "note": note},
        )
        audit.record(
            session,
            principal,
            Action.CASE_REUNIFIED,
            resource_type="case",
            resource_id=case_id,
            case_id=case_id,
            fields=["reunification"],
            detail={"tracing_request_id": str(request_id), "timeline_entry_id": str(entry)},
        )
    return view
