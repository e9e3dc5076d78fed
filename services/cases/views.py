"""What case use cases return: the row, its decrypted document, and extras for the response."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.cases import Case, CaseNote
from services.kit.pages import Page
from services.kit.versions import etag


@dataclass(frozen=True)
class CaseView:
    case: Case
    document: dict[str, Any]
    possible_duplicates: list[uuid.UUID] | None = None
    duplicate_check: str | None = None
    """`complete` or `partial` (intake only): did the duplicate check examine every candidate."""
    replayed: bool = False
    """True when an Idempotency-Key replay returned an earlier intake."""
    schedule: Schedule | None = None
    """In lists: what is due next and what is late (from plain columns)."""
    withheld: bool = False
    """In a supervisor's lists: a restricted case it may not read, shown for oversight by its
    plain columns only (the document is empty and was never decrypted)."""

    @property
    def etag(self) -> str:
        return etag(self.case.version)

    def as_dict(self) -> dict[str, Any]:
        case = self.case
        data: dict[str, Any] = {
            "id": case.id,
            "case_number": case.case_number,
            "version": case.version,
            "status": case.status,
            "stage": case.stage,
            "agency_id": case.agency_id,
            "owner_id": case.owner_id,
            "created_at": case.created_at,
            "updated_at": case.updated_at,
            "next_action_due_at": case.next_action_due_at,
            "closure_requested_at": case.closure_requested_at,
            "closed_at": case.closed_at,
            "risk_level": case.risk_level,
            "restricted": case.restricted,
            **self.document,
        }
        if self.withheld:
            data["content_withheld"] = True
        if self.possible_duplicates is not None:
            data["possible_duplicates"] = self.possible_duplicates
        if self.duplicate_check is not None:
            data["duplicate_check"] = self.duplicate_check
        if self.schedule is not None:
            data["next_action_kind"] = self.schedule.next_kind
            data["overdue_items"] = [
                {"kind": kind, "due_at": at} for kind, at in self.schedule.overdue
            ]
        return data


@dataclass(frozen=True)
class Schedule:
    next_kind: str | None
    overdue: list[tuple[str, datetime]]
    """Late items, earliest first."""


@dataclass(frozen=True)
class CasePage:
    items: list[CaseView]
    next_cursor: str | None


@dataclass(frozen=True)
class NoteView:
    id: uuid.UUID
    case_id: uuid.UUID
    author_id: uuid.UUID
    text: str
    created_at: datetime
    replayed: bool = False

    @classmethod
    def of(cls, note: CaseNote, text: str, *, replayed: bool = False) -> NoteView:
        return cls(
            id=note.id,
            case_id=note.case_id,
            author_id=note.author_id,
            text=text,
            created_at=note.created_at,
            replayed=replayed,
        )


NotePage = Page[NoteView]
"""A page of a case's notes, newest first."""
