"""The child's side of a reunification: an entry on each confirmed case's own record.

The tracing request keeps the enquirer's account under the request's key. The case's reader
(its owner, its supervisor) needs to see on the case itself that the child went home, when and to
whom, without opening the request: so the details are written again, under the CASE's data key,
as a `case_reunifications` row that the case timeline lists and that erasing the case shreds.
The row is written in the supervisor's transaction whatever the supervisor may read of the case:
confirming the match already established that the case is this child's.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.base import new_id, utcnow
from models.cases import Case
from models.tracing import CaseReunification, TracingRequest
from services.cases.access import case_data_key
from services.cases.records import open_record, seal_record
from services.crypto import Keyring
from services.policy import Principal

TABLE = "case_reunifications"
KIND = "reunification"


def record_on_case(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    case_id: uuid.UUID,
    request: TracingRequest,
    details: dict[str, Any],
) -> uuid.UUID:
    """Write the case's reunification entry (`details`: reunified_on, with, note); its id."""
    case = session.execute(select(Case).where(Case.id == case_id)).scalar_one()
    entry_id = new_id()
    session.add(
        CaseReunification(
            id=entry_id,
            case_id=case.id,
            tracing_request_id=request.id,
            recorded_by=principal.id,
            recorded_at=utcnow(),
            content=seal_record(
                case_data_key(session, keyring, case),
                {**details, "reference": request.reference},
                table=TABLE,
                record_id=entry_id,
                case_id=case.id,
                kind=KIND,
            ),
        )
    )
    session.flush()
    return entry_id


def details_of(dek: bytes, row: CaseReunification) -> dict[str, Any]:
    """The entry's details, decrypted under the case's key."""
    return open_record(
        dek, row.content, table=TABLE, record_id=row.id, case_id=row.case_id, kind=KIND
    )
