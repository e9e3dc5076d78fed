"""The `reindex_cases` job: empty the backlog of cases without duplicate-check tokens."""

from __future__ import annotations

from services.cases.reindex import reindex_batch
from services.runtime import Runtime


def reindex_backlog(runtime: Runtime) -> str:
    total = 0
    while True:
        with runtime.session_factory() as session, session.begin():
            done = reindex_batch(session, runtime.keyring, runtime.settings)
        total += done
        if done == 0:
            return f"indexed {total} case(s) registered before the duplicate-check tokens"
