"""Several writers appending at once produce one chain: seq 1..total, no fork, no gap.

PostgreSQL: separate processes (spawned, each with its own runtime and connection pool, like
uvicorn workers) serialise on the chain's advisory lock. SQLite: threads of one process serialise
on the database write lock. Checkpoints are written every few events by whichever writer crosses
the mark, so the checkpoint file is appended to concurrently as well.
"""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models.audit import AuditEvent
from services import audit
from services.actions import Action
from services.audit.checkpoints import read_checkpoints
from services.audit.verify import verify_log
from services.config import Settings
from services.identity.enums import PrincipalKind
from services.policy import Principal, Role
from services.runtime import Runtime, build_runtime

WRITERS = 4
EVENTS_EACH = 30


def _append(runtime: Runtime, writer: int, count: int) -> None:
    principal = Principal(
        kind=PrincipalKind.USER,
        id=uuid.uuid4(),
        agency_id=uuid.uuid4(),
        name=f"w{writer}",
        role=Role.SUPERVISOR,
    )
    done = 0
    while done < count:
        batch = min(1 + (done % 3), count - done)  # 1, 2 or 3 events per transaction
        with runtime.session_factory() as session, session.begin():
            for _ in range(batch):
                audit.record(
                    session,
                    principal,
                    Action.CASE_READ,
                    resource_type="case",
                    resource_id=uuid.uuid4(),
                    detail={"writer": writer, "n": done},
                )
                done += 1


def _process_writer(settings_values: dict[str, Any], writer: int, barrier: Any) -> None:
    runtime = build_runtime(Settings(**settings_values))
    try:
        barrier.wait(timeout=60)
        _append(runtime, writer, EVENTS_EACH)
    finally:
        runtime.engine.dispose()


def _assert_one_chain(runtime: Runtime, total: int) -> None:
    with runtime.session_factory() as session:
        seqs = session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        writers = session.scalars(select(AuditEvent.detail)).all()
    assert seqs == list(range(1, total + 1))
    assert len({w for w in writers}) == total  # every event is there once
    with runtime.engine.connect().execution_options(haven_read_only=True) as connection:
        report = verify_log(connection, runtime.settings, runtime.keyring)
    assert (report.valid, report.events_checked, report.first_invalid_seq) == (True, total, None)
    lines = list(read_checkpoints(Path(runtime.settings.audit_checkpoint_file)))
    assert lines and all(line.checkpoint is not None for line in lines)
    assert report.checkpoints_checked == len(lines)


def _tuned(runtime: Runtime) -> Runtime:
    settings = runtime.settings.model_copy(update={"audit_checkpoint_every_events": 7})
    runtime.engine.dispose()
    return build_runtime(settings)


@pytest.mark.postgres_only
def test_several_processes_appending_make_one_chain(fresh_runtime: Runtime) -> None:
    runtime = _tuned(fresh_runtime)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WRITERS)
    values = runtime.settings.model_dump()
    processes = [
        context.Process(target=_process_writer, args=(values, n, barrier)) for n in range(WRITERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * WRITERS
    _assert_one_chain(runtime, WRITERS * EVENTS_EACH)
    runtime.engine.dispose()


def test_several_threads_appending_make_one_chain(fresh_runtime: Runtime) -> None:
    runtime = _tuned(fresh_runtime)
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def run(writer: int) -> None:
        try:
            barrier.wait(timeout=60)
            _append(runtime, writer, EVENTS_EACH)
        except BaseException as error:  # noqa: BLE001  reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    _assert_one_chain(runtime, WRITERS * EVENTS_EACH)
    runtime.engine.dispose()
