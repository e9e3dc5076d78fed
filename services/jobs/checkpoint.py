"""The `audit_checkpoint` job: sign the chain's head when it moved since the last checkpoint."""

from __future__ import annotations

from sqlalchemy import select

from models.audit import AuditEvent
from services.audit.checkpoints import Checkpointer, read_checkpoints
from services.runtime import Runtime


def _last_signed_seq(checkpointer: Checkpointer) -> int | None:
    last = None
    for line in read_checkpoints(checkpointer.path):
        if line.checkpoint is not None:
            last = line.checkpoint.seq
    return last


def sign_new_events(runtime: Runtime) -> str:
    checkpointer = Checkpointer(runtime.settings, runtime.keyring)
    with runtime.session_factory() as session:
        head = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
        if head is None:
            return "the audit log is empty"
        if _last_signed_seq(checkpointer) == head:
            return f"head {head} already signed"
        written = checkpointer.checkpoint_head(session)
    return f"signed head {written.seq}" if written else "the audit log is empty"
