"""The duplicate warning at intake: compound tokens, so namesakes do not cap or slow it; the
estimated-age band; `partial` when it examined fewer candidates than there were; cases of the
backlog (registered before the compound tokens) are still compared, then indexed by the job."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.cases import CaseSearchToken, CaseTokenBacklog
from models.identity import User
from services.cases import duplicates
from services.cases.enums import DuplicateCheck
from services.cases.intake import create_case
from services.cases.reindex import reindex_batch
from services.cases.update import update_case
from services.runtime import Runtime
from tests.factories import case_body, make_agency, make_user, principal_of


def _child(given: str, family: str, *, dob: str | None = None, age: int | None = None) -> Any:
    child: dict[str, Any] = {"given_name": given, "family_name": family, "sex": "male"}
    if dob is not None:
        child["date_of_birth"] = dob
    if age is not None:
        child["estimated_age"] = age
    return case_body(child=child)


class Desk:
    def __init__(self, db: Session, runtime: Runtime) -> None:
        self.db, self.runtime = db, runtime
        agency = make_agency(db)
        self.worker: User = make_user(db, agency, role="caseworker")
        self.supervisor: User = make_user(db, agency, role="supervisor")

    def intake(self, body: dict[str, Any], user: User | None = None) -> Any:
        view = create_case(
            self.db,
            self.runtime.keyring,
            self.runtime.settings,
            principal_of(user or self.worker),
            body,
        )
        self.db.flush()
        return view


@pytest.fixture
def desk(db: Session, runtime: Runtime) -> Desk:
    return Desk(db, runtime)


def test_a_duplicate_is_found_among_more_namesakes_than_any_cap(desk: Desk, db: Session) -> None:
    """600 cases named Muhammad Ali (more than the old cap of 500 and than `MAX_EXAMINED`), the
    true duplicates the oldest and the newest of them: both are found, and the check says it
    looked at every candidate."""
    assert duplicates.MAX_EXAMINED < 600
    oldest = desk.intake(_child("Muhammad", "Ali", dob="2015-06-01")).case.id
    for day in range(600):
        born = date.fromordinal(date(2008, 1, 1).toordinal() + day * 7)
        assert born.isoformat() != "2015-06-01"
        desk.intake(_child("Muhammad", "Ali", dob=born.isoformat()))
    newest = desk.intake(_child("MUHAMMAD ", " ali", dob="2015-06-01"))
    assert newest.possible_duplicates == [oldest]
    namesakes = db.scalar(
        select(func.count()).where(
            CaseSearchToken.field == "full_name",
            CaseSearchToken.token.in_(
                select(CaseSearchToken.token).where(CaseSearchToken.case_id == oldest)
            ),
        )
    )
    assert namesakes is not None and namesakes >= 602
    again = desk.intake(_child("Muhammad", "Ali", dob="2015-06-01"))
    assert sorted(again.possible_duplicates) == sorted([oldest, newest.case.id])
    assert again.duplicate_check == DuplicateCheck.COMPLETE


def test_estimated_age_band(desk: Desk) -> None:
    """Without a birth date: the same name and an estimated birth year at most a year apart
    (estimated ages given on the same day here); a birth-date case is not compared."""
    first = desk.intake(_child("Hussein", "Kareem", age=9)).case.id
    desk.intake(_child("Hussein", "Kareem", dob=f"{utcnow().year - 9}-01-01"))
    assert desk.intake(_child("Hussein", "Kareem", age=10)).possible_duplicates == [first]
    far = desk.intake(_child("Hussein", "Kareem", age=12))
    assert far.possible_duplicates == []
    assert desk.intake(_child("Other", "Kareem", age=9)).possible_duplicates == []


def test_more_candidates_than_examined_is_said_to_be_partial(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duplicates, "MAX_EXAMINED", 3)
    made = [desk.intake(_child("Ahmad", "Hassan", age=7)).case.id for _ in range(5)]
    view = desk.intake(_child("Ahmad", "Hassan", age=7))
    assert view.duplicate_check == DuplicateCheck.PARTIAL
    assert view.possible_duplicates == made[:-4:-1]  # the newest three
    lone = desk.intake(_child("Ahmad", "Hassan", dob="2012-02-02"))
    assert lone.duplicate_check == DuplicateCheck.COMPLETE


def test_backlog_cases_are_compared_until_the_job_indexes_them(
    desk: Desk, db: Session, runtime: Runtime
) -> None:
    """A case registered before the compound tokens (no such token, listed in the backlog, as
    the migration leaves it) is still found; the job then writes its tokens and empties the
    backlog, and it is found by its token."""
    old = desk.intake(_child("Ali", "Jasim", dob="2011-11-11")).case.id
    other = desk.intake(_child("Ali", "Jasim", dob="2010-10-10")).case.id
    db.execute(delete(CaseSearchToken).where(CaseSearchToken.field.in_(("name_dob", "name_age"))))
    db.execute(insert(CaseTokenBacklog), [{"case_id": old}, {"case_id": other}])
    db.flush()
    assert desk.intake(_child("Ali", "Jasim", dob="2011-11-11")).possible_duplicates == [old]
    # The new intake was indexed at once; the job does the two old ones.
    assert reindex_batch(db, runtime.keyring, runtime.settings) == 2
    assert reindex_batch(db, runtime.keyring, runtime.settings) == 0
    assert db.scalar(select(func.count()).select_from(CaseTokenBacklog)) == 0
    fields = db.scalars(select(CaseSearchToken.field).where(CaseSearchToken.case_id == old))
    assert "name_dob" in set(fields)
    found = desk.intake(_child("Ali", "Jasim", dob="2011-11-11")).possible_duplicates
    assert old in found and other not in found


def test_an_update_of_the_birth_date_moves_the_token(desk: Desk, runtime: Runtime) -> None:
    view = desk.intake(_child("Zainab", "Salim", dob="2016-03-03"))
    update_case(
        desk.db,
        runtime.keyring,
        runtime.settings,
        principal_of(desk.worker),
        view.case.id,
        {"child": {"date_of_birth": "2016-04-04"}},
        if_match=f'"{view.case.version}"',
    )
    desk.db.flush()
    assert desk.intake(_child("Zainab", "Salim", dob="2016-03-03")).possible_duplicates == []
    found = desk.intake(_child("Zainab", "Salim", dob="2016-04-04")).possible_duplicates
    assert found == [view.case.id]


def test_only_visible_cases_are_compared(desk: Desk, db: Session) -> None:
    theirs = make_user(db, make_agency(db), role="caseworker")
    desk.intake(_child("Omar", "Faris", dob="2014-01-01"), user=theirs)
    assert desk.intake(_child("Omar", "Faris", dob="2014-01-01")).possible_duplicates == []
