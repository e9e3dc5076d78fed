"""`Idempotency-Key` for creating POSTs, kept in the database so every worker honours it.

Use from a creating use case, before anything is written:

    claim = idempotency.claim(session, keyring, principal, key, operation="note.create",
                              body=canonical_request, resource_type="note",
                              resource_id=new_note_id, case_id=case.id)
    if claim.replay is not None:
        return <the resource claim.replay.resource_id names>, answered 200
    ... create the resource with id new_note_id, answered 201

`operation` names what is created and where (e.g. `referral.create:<case id>`), so one key sent
to two different endpoints is two different requests. `body` is the request as plain JSON
values (the fingerprint is over its canonical form).

A record holds a keyed HMAC of the key, a keyed HMAC of the operation and its canonical body
(no plaintext, nothing a dictionary reverses: a leaked table does not reveal what was sent),
and the id of what was created. Keys should be random (a UUID per request); one that names a
child would otherwise be exactly the plaintext this avoids. Records written by an earlier
release under a plain SHA-256 of the key are not converted (the keys are not stored, so they
cannot be): they are never matched again and are purged within 24 hours like any other; a
retry that spans the upgrade is treated as a new request. Flow:
1. a live record for (caller, key) with the same fingerprint: a replay; return that resource;
   with another fingerprint: 422;
2. otherwise insert the record first, in a savepoint, naming the id the resource WILL have; the
   unique constraint on (caller, key) decides between concurrent duplicates: the loser waits for
   the winner's commit, fails the insert, and then returns the winner's resource.
Records live 24 hours; an expired record is replaced by the next use of its key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.base import utcnow
from models.cases import IdempotencyRecord
from services.crypto import Keyring, lookup_digest
from services.errors import InvalidInput
from services.policy import Principal

TTL = timedelta(hours=24)
KEY_PURPOSE = "idempotency"
KEY_LOOKUP_PURPOSE = "idempotency-key"
HEADER_LOC: tuple[str | int, ...] = ("header", "Idempotency-Key")


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: `replay` is the earlier record, or None to go ahead."""

    replay: IdempotencyRecord | None


def key_hash(keyring: Keyring, key: str) -> str:
    """What is stored to find the key again: a keyed HMAC (the key itself is never stored, and a
    key a person made up, such as `intake-1`, cannot be recovered from the table by guessing)."""
    return lookup_digest(keyring, KEY_LOOKUP_PURPOSE, key)


def fingerprint(keyring: Keyring, operation: str, body: Any) -> str:
    """Keyed HMAC of the operation and canonical body: recognises a replay, reveals nothing."""
    canonical = json.dumps(
        {"operation": operation, "body": body},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    ).encode("utf-8")
    return hmac.new(keyring.system_key(KEY_PURPOSE), canonical, hashlib.sha256).hexdigest()


def _live(session: Session, principal: Principal, hashed: str) -> IdempotencyRecord | None:
    record = session.execute(
        select(IdempotencyRecord)
        .where(IdempotencyRecord.principal_id == principal.id, IdempotencyRecord.key_hash == hashed)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if record is not None and record.created_at < utcnow() - TTL:
        session.delete(record)
        session.flush()
        return None
    return record


def _check(record: IdempotencyRecord, fp: str) -> Claim:
    if not hmac.compare_digest(record.fingerprint, fp):
        raise InvalidInput.field(
            HEADER_LOC, "This Idempotency-Key was used with a different request in the last 24 h."
        )
    return Claim(replay=record)


def claim(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    key: str | None,
    *,
    operation: str,
    body: Any,
    resource_type: str,
    resource_id: uuid.UUID,
    case_id: uuid.UUID | None,
    status_code: int = 201,
) -> Claim:
    """Claim `key` for this request: `Claim(replay=None)` to go ahead and create the resource
    with id `resource_id`, or `Claim(replay=<earlier record>)` to answer with what the first
    request created. No key: always go ahead. The same key with another operation or body
    within 24 h: `InvalidInput` (422 naming `Idempotency-Key`)."""
    if key is None:
        return Claim(replay=None)
    if not key.strip() or len(key) > 200:
        raise InvalidInput.field(HEADER_LOC, "Must be 1 to 200 visible characters.")
    hashed = key_hash(keyring, key)
    fp = fingerprint(keyring, operation, body)
    existing = _live(session, principal, hashed)
    if existing is not None:
        return _check(existing, fp)
    record = IdempotencyRecord(
        principal_id=principal.id,
        key_hash=hashed,
        fingerprint=fp,
        resource_type=resource_type,
        resource_id=resource_id,
        case_id=case_id,
        status_code=status_code,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        # A concurrent request with the same key committed first: answer with its resource.
        winner = _live(session, principal, hashed)
        if winner is None:  # pragma: no cover - the winner rolled back and expired meanwhile
            raise
        return _check(winner, fp)
    return Claim(replay=None)


def forget_case(session: Session, case_id: uuid.UUID) -> None:
    """Erasure: drop the case's records (their resources no longer exist). Every record names
    the case its resource belongs to, whatever the resource (case, note, referral, ...)."""
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.case_id == case_id))


def purge_expired(session: Session) -> int:
    """Delete records older than 24 h; returns how many (for a periodic job)."""
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - TTL)
    )
    return int(getattr(result, "rowcount", 0) or 0)
