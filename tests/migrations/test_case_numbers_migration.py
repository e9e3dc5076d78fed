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
from models.keys import DataKey
from services.cases.numbers import next_case_number
from services.database import migrate
from tests.databases import empty_database
from tests.factories import make_agency, make_user

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


def test_each_agency_counts_on_from_its_own_highest_number() -> None:
    with empty_database() as url:
        engine = make_engine(url)
        try:
            migrate(engine, "0012")
            at = datetime(2025, 5, 5, tzinfo=UTC)
            with Session(engine) as session:
                agencies = make_agency(session), make_agency(session)
                workers = [make_user(session, agency) for agency in agencies]
                session.flush()
                one, two = (agency.id for agency in agencies)
                owner = {one: workers[0].id, two: workers[1].id}
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
