"""The transaction helpers use cases call instead of touching the request's session directly:
a record of its own outlives the request's rollback, and ending the request's reads early
never drops unflushed work."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.identity import Agency
from services.database import abandon_request, end_request_reads, own_transaction
from services.runtime import Runtime


def _names(runtime: Runtime) -> set[str]:
    with runtime.session_factory() as session:
        return set(session.scalars(select(Agency.name)))


def test_a_record_of_its_own_outlives_the_failed_request(fresh_runtime: Runtime) -> None:
    factory = fresh_runtime.session_factory
    request = factory()
    try:
        request.begin()
        request.add(Agency(name="written by the failing request"))
        request.flush()  # on SQLite the request now holds the write lock
        abandon_request(request)
        # Without the request's transaction ended first, this would wait for its lock.
        with own_transaction(factory) as apart:
            apart.add(Agency(name="the attempt, recorded apart"))
    finally:
        request.close()
    names = _names(fresh_runtime)
    assert "the attempt, recorded apart" in names
    assert "written by the failing request" not in names


def test_a_record_of_its_own_is_rolled_back_when_its_block_fails(fresh_runtime: Runtime) -> None:
    def fail_halfway() -> None:
        with own_transaction(fresh_runtime.session_factory) as apart:
            apart.add(Agency(name="half a record"))
            apart.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_halfway()
    assert "half a record" not in _names(fresh_runtime)


def test_ending_the_reads_refuses_to_drop_unflushed_work(db: Session) -> None:
    agency = Agency(name="not flushed yet")
    db.add(agency)
    with pytest.raises(RuntimeError, match="discard"):
        end_request_reads(db)
    assert agency in db.new  # nothing was dropped
    db.expunge(agency)
    end_request_reads(db)  # nothing unflushed any more: fine


def test_abandoning_the_request_detaches_its_objects(db: Session) -> None:
    agency = Agency(name="read before failing")
    db.add(agency)
    db.flush()
    abandon_request(db)
    assert agency not in db
