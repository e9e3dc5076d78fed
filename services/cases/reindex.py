"""Writing the search tokens of cases registered before the compound duplicate tokens existed.

A migration cannot compute tokens (it has no keyring), so it only lists those cases in
`case_token_backlog`. This batch job (run by `haven jobs run`, the compose `worker`) decrypts
each one in memory, writes all its tokens again and takes it off the backlog, a batch per
transaction, so a server keeps serving while it runs and a stopped run resumes where it was.
Until a case is indexed the duplicate check still compares intakes with it the old way.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models.cases import Case, CaseTokenBacklog
from services.cases.loading import views_of
from services.cases.search_index import write_tokens
from services.config import Settings
from services.crypto import Keyring

BATCH = 200


def reindex_batch(session: Session, keyring: Keyring, settings: Settings) -> int:
    """Index up to `BATCH` cases of the backlog in `session`'s transaction; how many."""
    rows = (
        session.execute(
            select(Case)
            .join(CaseTokenBacklog, CaseTokenBacklog.case_id == Case.id)
            .order_by(Case.id)
            .limit(BATCH)
            # The case rows too: an update of one of them waits, or this run skips it.
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for view in views_of(session, keyring, rows):
        write_tokens(
            session,
            keyring,
            settings,
            view.case.id,
            view.document,
            registered=view.case.created_at.date(),
        )
    # Cases erased meanwhile left the backlog with their row (ON DELETE CASCADE).
    session.execute(
        delete(CaseTokenBacklog).where(CaseTokenBacklog.case_id.in_([c.id for c in rows]))
    )
    return len(rows)
