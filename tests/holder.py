"""A Haven process that takes a lock inside a transaction and then waits, to be paused (SIGSTOP)
by a test: `python -m tests.holder chain|counter`, settings from the HAVEN_* environment.

- `chain`: appends an audit event the way every commit does (`haven_audit_append` takes the
  chain's advisory lock), then stops before committing;
- `counter`: takes this year's case-number counter row of the agency of a case already in the
  database, the way an intake does.
It prints `holding` once the lock is held, then sleeps (bounded: 120 s)."""

from __future__ import annotations

import sys
import time

from sqlalchemy import select

from models.base import utcnow
from models.cases import Case
from services import audit
from services.actions import Action
from services.audit.log import _chain_pending
from services.cases.numbers import next_case_number
from services.config import Settings
from services.runtime import build_runtime


def main(what: str) -> None:
    runtime = build_runtime(Settings())
    session = runtime.session_factory()
    if what == "chain":
        audit.record(
            session, None, Action.AUTH_LOGIN_FAILED, resource_type="user", resource_id="held"
        )
        _chain_pending(session)  # what the before-commit hook does: the lock is now held
    elif what == "counter":
        agency_id = session.scalars(select(Case.agency_id).limit(1)).one()
        next_case_number(session, agency_id, utcnow())
    else:
        raise SystemExit(f"unknown lock {what!r}")
    sys.stdout.write("holding\n")
    sys.stdout.flush()
    time.sleep(120)


if __name__ == "__main__":
    main(sys.argv[1])
