"""Case notes: encrypted under the case's data key; listed newest first with a cursor."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.base import new_id, utcnow
from models.cases import CaseNote
from services import audit
from services.actions import Action
from services.cases.access import (
    case_data_key,
    decrypt_for_case,
    encrypt_for_case,
    load_visible_case,
)
from services.cases.enums import CaseStatus
from services.cases.views import NotePage, NoteView
from services.crypto import Keyring
from services.errors import Conflict, InvalidInput
from services.kit import idempotency
from services.kit.cursor import Keyset, SortKey
from services.kit.pages import DEFAULT_LIMIT, check_limit
from services.policy import Principal

NOTE_TABLE = "case_notes"
NOTE_FIELD = "text"
MAX_NOTE_CHARS = 20_000
NEWEST_FIRST = Keyset(
    "notes",
    (
        SortKey(CaseNote.created_at, datetime, descending=True),
        SortKey(CaseNote.id, uuid.UUID, descending=True),
    ),
)


def add_note(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    text: str,
    *,
    idempotency_key: str | None = None,
) -> NoteView:
    case = load_visible_case(session, principal, case_id, Action.NOTE_CREATE)
    if case.status == CaseStatus.CLOSED:
        # A closed case's record is final until a supervisor reopens it, notes included: a note
        # added afterwards would change what the closure decision was taken on.
        raise Conflict("The case is closed; a supervisor may reopen it.")
    if not text.strip() or len(text) > MAX_NOTE_CHARS:
        raise InvalidInput.field(("body", "text"), f"Must be 1 to {MAX_NOTE_CHARS} characters.")
    note_id = new_id()
    claim = idempotency.claim(
        session,
        keyring,
        principal,
        idempotency_key,
        operation=f"note.create:{case.id}",
        body={"text": text},
        resource_type="note",
        resource_id=note_id,
        case_id=case.id,
    )
    dek = case_data_key(session, keyring, case)
    if claim.replay is not None:
        earlier = session.get(CaseNote, claim.replay.resource_id)
        if earlier is None or earlier.case_id != case.id:  # pragma: no cover - erased together
            raise InvalidInput.field(idempotency.HEADER_LOC, "The earlier note no longer exists.")
        audit.record(
            session,
            principal,
            Action.NOTE_CREATE,
            resource_type="note",
            resource_id=earlier.id,
            case_id=case.id,
            detail={"idempotent_replay": True},
        )
        return NoteView.of(earlier, _decrypt(dek, earlier), replayed=True)
    note = CaseNote(
        id=note_id,
        case_id=case.id,
        author_id=principal.id,
        text_encrypted=encrypt_for_case(
            dek, text, table=NOTE_TABLE, record_id=note_id, field=NOTE_FIELD
        ),
        created_at=utcnow(),
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        principal,
        Action.NOTE_CREATE,
        resource_type="note",
        resource_id=note.id,
        case_id=case.id,
        fields=["text"],
    )
    return NoteView.of(note, text)


def _decrypt(dek: bytes, note: CaseNote) -> str:
    return decrypt_for_case(
        dek, note.text_encrypted, table=NOTE_TABLE, record_id=note.id, field=NOTE_FIELD
    )


def list_notes(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> NotePage:
    case = load_visible_case(session, principal, case_id, Action.NOTE_LIST)
    limit = check_limit(limit)
    statement = NEWEST_FIRST.select_page(
        select(CaseNote).where(CaseNote.case_id == case.id), cursor=cursor, limit=limit
    )
    page = NEWEST_FIRST.split(
        session.execute(statement).scalars().all(), limit, lambda n: (n.created_at, n.id)
    )
    rows = page.items
    dek = case_data_key(session, keyring, case)
    items = [NoteView.of(note, _decrypt(dek, note)) for note in rows]
    audit.record(
        session,
        principal,
        Action.NOTE_LIST,
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        detail={"count": len(items)},
    )
    return NotePage(items=items, next_cursor=page.next_cursor)
