"""Appending to the audit log.

`record()` queues an event on the session; the events are chained and inserted just before the
session commits (a `before_commit` hook), so a change and its audit row commit together or not at
all, and the chain's serialisation point (a transaction-scoped advisory lock on PostgreSQL, the
database write lock on SQLite) is held only from then until the commit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, sessionmaker

from models.audit import AuditEvent
from models.base import utcnow
from services.audit.chain import GENESIS_HASH, row_hash
from services.audit.context import current_request
from services.policy import Principal

PENDING_KEY = "haven_audit_pending"
CHAIN_LOCK_KEY = 0x4A17_0C4A  # arbitrary, constant: the advisory lock that orders the chain


@dataclass(frozen=True)
class Actor:
    type: str
    id: uuid.UUID | None = None
    role: str | None = None
    scopes: str | None = None
    agency_id: uuid.UUID | None = None


def anonymous() -> Actor:
    return Actor(type="anonymous")


def actor_for(principal: Principal | None) -> Actor:
    if principal is None:
        return anonymous()
    if principal.is_client:
        return Actor(
            type="client",
            id=principal.id,
            scopes=" ".join(sorted(principal.scopes)),
            agency_id=principal.agency_id,
        )
    return Actor(
        type="user",
        id=principal.id,
        role=principal.role.value if principal.role else None,
        agency_id=principal.agency_id,
    )


def record(
    session: Session,
    actor: Actor | Principal | None,
    action: str,
    *,
    resource_type: str | None = None,
    resource_id: object | None = None,
    case_id: uuid.UUID | None = None,
    fields: Iterable[str] = (),
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
) -> None:
    """Queue one audit event; it is chained and written when `session` commits.

    `fields` are names, `detail` non-sensitive context: never put a value from a case here.
    """
    if not isinstance(actor, Actor):
        actor = actor_for(actor)
    meta = current_request()
    field_names = sorted(set(fields))
    pending: list[dict[str, Any]] = session.info.setdefault(PENDING_KEY, [])
    pending.append(
        {
            "at": utcnow(),
            "actor_type": actor.type,
            "actor_id": actor.id,
            "actor_role": actor.role,
            "actor_scopes": actor.scopes,
            "actor_agency_id": actor.agency_id,
            "action": action,
            "resource_type": resource_type,
            "resource_id": None if resource_id is None else str(resource_id),
            "case_id": case_id,
            "fields": json.dumps(field_names) if field_names else None,
            "outcome": outcome,
            "client_address": meta.client_address,
            "request_id": meta.request_id,
            "detail": json.dumps(detail, sort_keys=True, ensure_ascii=True) if detail else None,
        }
    )


def record_refusal(
    session_factory: sessionmaker[Session],
    actor: Actor | Principal | None,
    action: str,
    **kwargs: Any,
) -> None:
    """Record a refusal in its own transaction, so the failed request's rollback keeps it."""
    kwargs.setdefault("outcome", "denied")
    with session_factory() as session, session.begin():
        record(session, actor, action, **kwargs)


def discard_pending(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def _chain_pending(session: Session) -> None:
    pending: list[dict[str, Any]] = session.info.pop(PENDING_KEY, [])
    if not pending:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS_HASH)
    for values in pending:
        seq += 1
        values["seq"] = seq
        values["prev_hash"] = prev
        values["hash"] = prev = row_hash(values)
        session.add(AuditEvent(**values))


def _forget_pending(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


_installed = False


def install_chain_hook() -> None:
    """Register the commit-time chaining on every Session (idempotent)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "before_commit", _chain_pending)
    event.listen(Session, "after_rollback", _forget_pending)
    _installed = True
