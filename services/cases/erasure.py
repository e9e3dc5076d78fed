"""Erasure (`DELETE /cases/{id}`, supervisor): crypto-shredding plus a tombstone.

In one transaction: the case's search tokens, notes, idempotency records and row are deleted
(its referrals go with the row, ON DELETE CASCADE), its data key is destroyed (so any copy of its
ciphertext, in a replica or a later backup, is unreadable), and a tombstone keeps the case
number, who erased it, when, and the reason sealed under the keyring's `tombstone` system key
(operators are told not to put child data in it, but if they do, it is not in the clear).
Afterwards the case is 404 for everyone. Backups taken before the erasure still hold the wrapped
key until they expire and the KEK versions they used are retired (docs/security.md).

On SQLite the wrapped key's old page also lingers in the write-ahead log (`haven.db-wal`) until
a checkpoint; so once the erasure's transaction has committed, an `after_commit` hook on the
session runs `PRAGMA wal_checkpoint(TRUNCATE)` (copies every page into the database file, where
`secure_delete` has zeroed the key, and empties the log). On PostgreSQL the old row version
stays in the table's pages until VACUUM reclaims them (docs/operating.md).
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import Engine, delete, event
from sqlalchemy.orm import Session

from models.base import utcnow
from models.cases import CaseNote, CaseSearchToken, CaseTokenBacklog, CaseTombstone
from models.db import SQLITE_BUSY_TIMEOUT_MS
from services import audit
from services.actions import Action
from services.cases.access import load_visible_case
from services.crypto import Keyring, destroy_data_key, open_sealed, seal
from services.errors import InvalidInput
from services.kit import idempotency
from services.policy import Principal

TOMBSTONE_KEY_PURPOSE = "tombstone"
MAX_REASON_CHARS = 500
CHECKPOINT_BUSY_TIMEOUT_MS = 5_000
"""How long the post-erasure checkpoint waits for other writers and readers."""
_CHECKPOINT_PENDING = "haven.erasure_checkpoint_pending"

log = logging.getLogger("haven.erasure")


def _checkpoint_after_commit(session: Session) -> None:
    """`after_commit`: flush SQLite's write-ahead log into the database file and truncate it,
    so the destroyed wrapped key's old page leaves the disk now rather than at some later
    checkpoint. Best effort: the erasure has committed; a busy database is logged."""
    if not session.info.pop(_CHECKPOINT_PENDING, False):
        return
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        # Bound to a connection whose own (outer) transaction is still open: nothing reached
        # the WAL yet, and whoever commits that transaction owns the checkpoint.
        return
    raw = bind.raw_connection()  # autocommit (pysqlite's own transactions are off): no BEGIN
    try:
        cursor = raw.cursor()
        cursor.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_TIMEOUT_MS}")
        try:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            row = cursor.fetchone()  # (busy, frames in the log, frames checkpointed)
        finally:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()
        if row is None or row[0]:
            log.warning(
                "WAL checkpoint after an erasure was blocked by other connections; the erased "
                "key's old page stays in the WAL until the next complete checkpoint"
            )
    except Exception:
        log.exception("WAL checkpoint after an erasure failed")
    finally:
        raw.close()


def _checkpoint_when_committed(session: Session) -> None:
    if session.get_bind().dialect.name != "sqlite" or session.info.get(_CHECKPOINT_PENDING):
        return
    session.info[_CHECKPOINT_PENDING] = True
    if not event.contains(session, "after_commit", _checkpoint_after_commit):
        event.listen(session, "after_commit", _checkpoint_after_commit)


def _aad(case_id: uuid.UUID) -> bytes:
    return f"case_tombstones:{case_id}:reason".encode("ascii")


def erase_case(
    session: Session, keyring: Keyring, principal: Principal, case_id: uuid.UUID, reason: str
) -> CaseTombstone:
    case = load_visible_case(session, principal, case_id, Action.CASE_ERASE, for_update=True)
    if not reason.strip() or len(reason) > MAX_REASON_CHARS:
        raise InvalidInput.field(("body", "reason"), f"Must be 1 to {MAX_REASON_CHARS} characters.")
    tombstone = CaseTombstone(
        case_id=case.id,
        case_number=case.case_number,
        agency_id=case.agency_id,
        erased_by=principal.id,
        erased_at=utcnow(),
        reason_sealed=seal(
            keyring.system_key(TOMBSTONE_KEY_PURPOSE), reason.encode("utf-8"), _aad(case.id)
        ),
    )
    data_key_id = case.data_key_id
    session.execute(delete(CaseSearchToken).where(CaseSearchToken.case_id == case.id))
    session.execute(delete(CaseTokenBacklog).where(CaseTokenBacklog.case_id == case.id))
    session.execute(delete(CaseNote).where(CaseNote.case_id == case.id))
    idempotency.forget_case(session, case.id)
    session.delete(case)
    session.flush()
    destroy_data_key(session, data_key_id)
    _checkpoint_when_committed(session)
    session.add(tombstone)
    session.flush()
    audit.record(
        session,
        principal,
        Action.CASE_ERASE,
        resource_type="case",
        resource_id=case_id,
        case_id=case_id,
        detail={"case_number": tombstone.case_number},
    )
    return tombstone


def tombstone_reason(keyring: Keyring, tombstone: CaseTombstone) -> str:
    """The operator's reason, for an operator with the keyring."""
    return open_sealed(
        keyring.system_key(TOMBSTONE_KEY_PURPOSE), tombstone.reason_sealed, _aad(tombstone.case_id)
    ).decode("utf-8")
