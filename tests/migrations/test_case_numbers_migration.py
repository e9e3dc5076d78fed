"""Revision 0013 (case numbers per agency) on a database that already holds cases numbered
across all agencies: each agency counts on from the highest number it holds (erased cases
included), so no number repeats within an agency."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import column, insert, table
from sqlalchemy.orm import Session

from models.cases import Case, CaseTombstone
from models.db import make_engine
from models.identity import User
from models.keys import DataKey
from services.cases.numbers import next_case_number
from services.database import migrate
from tests.databases import empty_database
from tests.factories import make_agency, test_password_hash

CASES_AT_0012 = table(
    "cases",
    *(
        column(name, Case.__table__.c[name].type)
        for name in (
            "id",
            "case_number",
            "agency_id",
            "owner_id",
            "status",
            "stage",
            "risk_level",
            "version",
            "data_key_id",
            "content",
            "created_at",
            "updated_at",
            "stage_changed_at",
        )
    ),
)
"""The columns `cases` had at revision 0012 (the model has gained others since), typed by the
model's own columns so values are bound as the application binds them."""

USERS_AT_0012 = table(
    "users",
    *(
        column(name, User.__table__.c[name].type)
        for name in (
            "id",
            "username",
            "password_hash",
            "role",
            "agency_id",
            "is_active",
            "created_at",
            "updated_at",
        )
    ),
)
"""The columns `users` needs at revision 0012 (the model has gained others since)."""


def _caseworker(session: Session, agency_id: uuid.UUID, at: datetime) -> uuid.UUID:
    user_id = uuid.uuid4()
    session.execute(
        insert(USERS_AT_0012).values(
            id=user_id,
            username=f"user-{user_id.hex[:8]}",
            password_hash=test_password_hash(),
            role="caseworker",
            agency_id=agency_id,
            is_active=True,
            created_at=at,
            updated_at=at,
        )
    )
    return user_id


def test_each_agency_counts_on_from_its_own_highest_number() -> None:
    with empty_database() as url:
        engine = make_engine(url)
        try:
            migrate(engine, "0012")
            at = datetime(2025, 5, 5, tzinfo=UTC)
            with Session(engine) as session:
                agencies = make_agency(session), make_agency(session)
                session.flush()
                one, two = (agency.id for agency in agencies)
                owner = {one: _caseworker(session, one, at), two: _caseworker(session, two, at)}
                issued = [
                    (one, "HVN-2025-000001"),
                    (two, "HVN-2025-000002"),
                    (one, "HVN-2025-000003"),
                    (two, "HVN-2026-000004"),
                ]
                for agency_id, number in issued:
                    key = uuid.uuid4()
                    session.execute(
                        insert(DataKey),
                        [{"id": key, "kek_version": 1, "wrapped_key": b"k", "created_at": at}],
                    )
                    session.execute(
                        insert(CASES_AT_0012),
                        [
                            {
                                "id": uuid.uuid4(),
                                "case_number": number,
                                "agency_id": agency_id,
                                "owner_id": owner[agency_id],
                                "status": "open",
                                "stage": "registration",
                                "risk_level": "low",
                                "version": 1,
                                "data_key_id": key,
                                "content": b"c",
                                "created_at": at,
                                "updated_at": at,
                                "stage_changed_at": at,
                            }
                        ],
                    )
                session.execute(
                    insert(CaseTombstone),
                    [
                        {
                            "case_id": uuid.uuid4(),
                            "case_number": "HVN-2025-000005",
                            "agency_id": one,
                            "erased_by": owner[one],
                            "erased_at": at,
                            "reason_sealed": b"r",
                        }
                    ],
                )
                session.commit()
            migrate(engine)
            with Session(engine) as session:
                assert next_case_number(session, one, at) == "HVN-2025-000006"
                assert next_case_number(session, two, at) == "HVN-2025-000003"
                assert next_case_number(session, two, datetime(2026, 1, 1, tzinfo=UTC)) == (
                    "HVN-2026-000005"
                )
                assert next_case_number(session, one, datetime(2026, 1, 1, tzinfo=UTC)) == (
                    "HVN-2026-000001"
                )
                session.rollback()
        finally:
            engine.dispose()
