"""Appending to the audit log.

`record()` queues an event on the session; the events are chained and inserted just before the
session commits (a `before_commit` hook), so a change and its audit row commit together or not at
all. The chain's serialisation point (a transaction-scoped advisory lock on PostgreSQL, the
database write lock on SQLite) is taken as late as possible: the request's own changes are flushed
first, then the lock is taken, the head read, the events inserted, and the commit releases it.
After the commit, a cheap check decides whether the new head should be signed into a checkpoint
(`services.audit.checkpoints`).

On PostgreSQL the lock would otherwise be held through the commit's disk flush, so no two appends
could share a flush and every audited request would queue behind the one before it (about one
append per flush, a few hundred per second on ordinary disks). So the appending transaction
commits without waiting for its flush (`synchronous_commit = off`, for that transaction only),
which releases the lock as soon as the commit is in the write-ahead log's buffer; then, still
before `commit()` returns and before anything is signed, `_wait_until_durable` runs one tiny
transaction that does wait for its flush, with the server's own durability setting. The log is
flushed in order, so once that flush is done the audited commit before it is on disk (and on a
synchronous standby, where one is configured); waits of concurrent requests share flushes. A
request is therefore still acknowledged only after its change and its audit events are durable,
a crash loses only commits nobody was told about, and the chain stays a prefix of itself: a
transaction that chained onto a lost one sits later in the log and is lost with it. The chain,
what verify proves and the insert-only rule are untouched. If the flush cannot be confirmed (the
database went away), `commit()` raises, and the client gets an error, never an acknowledgement.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from models.audit import AuditEvent, AuditEventCase
from models.base import utcnow
from services.actions import Action
from services.audit import anonymous as anonymous_refusals
from services.audit.chain import CONTENT_COLUMNS, GENESIS_HASH, chained_hash, content_prefix
from services.audit.context import RequestMeta, current_request
from services.audit.enums import ActorType, AuditOutcome
from services.policy import Principal

log = logging.getLogger("haven.audit")

PENDING_KEY = "haven_audit_pending"
APPENDED_KEY = "haven_audit_appended"
"""session.info: `(first_seq, last_seq, last_hash)` written by the transaction being committed."""
CHECKPOINTER_KEY = "haven_audit_checkpointer"
"""session.info (set on the session factory by `enable_checkpoints`): the `Checkpointer`."""
CHAIN_LOCK_KEY = 0x4A17_0C4A  # arbitrary, constant: the advisory lock that orders the chain
DURABLE_KEY = "haven_audit_durable_on"
"""session.info: the connection whose commit did not wait for its flush, so `_after_commit` must
(PostgreSQL)."""
DURABLE_MESSAGE_PREFIX = "haven.audit.durable"
LISTED_CASES_KEY = "case_ids"
"""detail: the cases a list event returned (`listed_cases`)."""
SERVED_KEY = "served"
"""detail: the records a list event served, one entry each (`Served.entry`)."""

# Column widths (models/audit.py): over-long values are cut rather than failing the commit.
_LIMITS = {
    "action": 64,
    "resource_type": 32,
    "resource_id": 64,
    "client_address": 64,
    "request_id": 64,
    "actor_role": 32,
    "actor_scopes": 255,
}


@dataclass(frozen=True)
class Actor:
    type: ActorType
    id: uuid.UUID | None = None
    role: str | None = None
    scopes: str | None = None
    agency_id: uuid.UUID | None = None


def anonymous() -> Actor:
    return Actor(type=ActorType.ANONYMOUS)


def actor_for(principal: Principal | None) -> Actor:
    if principal is None:
        return anonymous()
    if principal.is_client:
        return Actor(
            type=ActorType.CLIENT,
            id=principal.id,
            scopes=" ".join(sorted(principal.scopes)),
            agency_id=principal.agency_id,
        )
    return Actor(
        type=ActorType.USER,
        id=principal.id,
        role=principal.role.value if principal.role else None,
        agency_id=principal.agency_id,
    )


@dataclass(frozen=True)
class Served:
    """One record a list served, as the list's single event names it: which record, of which
    case, the names of the fields served (never values), and other non-sensitive facts about it
    (`detail`: its status, the kind of view)."""

    id: uuid.UUID
    case_id: uuid.UUID
    fields: Sequence[str] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)

    def entry(self) -> dict[str, Any]:
        return {
            **self.detail,
            "id": str(self.id),
            "case_id": str(self.case_id),
            "fields": sorted(set(self.fields)),
        }


@dataclass(frozen=True)
class _Pending:
    transactions: tuple[SessionTransaction, ...]
    """The session transactions (innermost savepoint up to the root) open when it was recorded:
    rolling back any of them drops the event."""
    values: dict[str, Any]
    listed_cases: tuple[uuid.UUID, ...] = ()
    """The cases a list event returned: indexed in `audit_event_cases` once the event has its
    place in the chain."""


def _open_transactions(session: Session) -> tuple[SessionTransaction, ...]:
    if not session.in_transaction():
        # Begin the session's transaction now (no database work yet), so that a rollback before
        # any query still discards the event.
        session.begin()
    innermost = session.get_nested_transaction() or session.get_transaction()
    chain: list[SessionTransaction] = []
    while innermost is not None:
        chain.append(innermost)
        innermost = innermost.parent
    return tuple(chain)


def _cut(name: str, value: str | None) -> str | None:
    """Fit a value to its column; NUL (which PostgreSQL text refuses) becomes U+FFFD."""
    if value is None:
        return None
    return value[: _LIMITS[name]].replace("\x00", "\ufffd")


def record(
    session: Session,
    actor: Actor | Principal | None,
    action: Action,
    *,
    resource_type: str | None = None,
    resource_id: object | None = None,
    case_id: uuid.UUID | None = None,
    fields: Iterable[str] = (),
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    detail: dict[str, Any] | None = None,
    listed_cases: Sequence[uuid.UUID] = (),
    served: Sequence[Served] = (),
    request: RequestMeta | None = None,
) -> None:
    """Queue one audit event; it is chained and written when `session` commits.

    `fields` are names, `detail` non-sensitive context: never put a value from a case here.
    `listed_cases`: the cases a list or search returned, one event for all of them. Their ids
    go into `detail["case_ids"]` (so the chain's hash covers them) and into the
    `audit_event_cases` index (so each case's access log finds the event).
    `served`: the records a list served, when the event must say what was served of each (which
    fields, which view), not only which cases: one entry per record in `detail["served"]`,
    covered by the hash like `case_ids`, and each record's case is listed as by `listed_cases`.
    A case's access log shows only the entries of its own records.
    `request` names the request the event belongs to (default: the current one).
    """
    if not isinstance(actor, Actor):
        actor = actor_for(actor)
    # Checked at run time too: a bare string would still satisfy the database's CHECK on
    # `outcome`, but an unknown action would be an event nobody can look up.
    action, outcome = Action(action), AuditOutcome(outcome)
    meta = request or current_request()
    field_names = sorted(set(fields))
    listed = tuple(dict.fromkeys([*listed_cases, *(item.case_id for item in served)]))
    if served:
        detail = {**(detail or {}), SERVED_KEY: [item.entry() for item in served]}
    if listed:
        detail = {**(detail or {}), LISTED_CASES_KEY: [str(case_id) for case_id in listed]}
    pending: list[_Pending] = session.info.setdefault(PENDING_KEY, [])
    pending.append(
        _Pending(
            _open_transactions(session),
            {
                "at": utcnow(),
                "actor_type": ActorType(actor.type).value,
                "actor_id": actor.id,
                "actor_role": _cut("actor_role", actor.role),
                "actor_scopes": _cut("actor_scopes", actor.scopes),
                "actor_agency_id": actor.agency_id,
                "action": _cut("action", action.value),
                "resource_type": _cut("resource_type", resource_type),
                "resource_id": None
                if resource_id is None
                else _cut("resource_id", str(resource_id)),
                "case_id": case_id,
                "fields": json.dumps(field_names, ensure_ascii=True) if field_names else None,
                "outcome": outcome.value,
                "client_address": _cut("client_address", meta.client_address),
                "request_id": _cut("request_id", meta.request_id),
                "detail": json.dumps(detail, sort_keys=True, ensure_ascii=True) if detail else None,
            },
            listed,
        )
    )


def record_refusal(
    session_factory: sessionmaker[Session],
    actor: Actor | Principal | None,
    action: Action,
    **kwargs: Any,
) -> anonymous_refusals.Counted | None:
    """Record a refusal in its own transaction, so the failed request's rollback keeps it.

    An unauthenticated caller's refusal of a kind anyone can repeat at will is counted per
    address instead, after the first of each window (`services.audit.anonymous`); the answer
    then says whether the address is over its limit. None when the refusal was recorded as
    usual."""
    kwargs.setdefault("outcome", AuditOutcome.DENIED)
    current_request().refusal_recorded = True
    with session_factory() as session, session.begin():
        limits = anonymous_refusals.limits_of(session)
        counted = None
        if limits is not None and _is_anonymous(actor) and action in anonymous_refusals.SUMMARISED:
            counted = anonymous_refusals.count_refusal(session, limits)
            if not counted.first:
                return counted
        record(session, actor, action, **kwargs)
    return counted


def _is_anonymous(actor: Actor | Principal | None) -> bool:
    return actor is None or (isinstance(actor, Actor) and actor.type == ActorType.ANONYMOUS)


def _chain_pending(session: Session) -> None:
    queued: list[_Pending] = session.info.pop(PENDING_KEY, [])
    session.info.pop(APPENDED_KEY, None)
    session.info.pop(DURABLE_KEY, None)
    if not queued:
        return
    pending = [item.values for item in queued]
    # Everything else the transaction writes goes to the database before the chain lock is
    # taken, so the serialised section is only: lock, read the head, insert, commit.
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        # The flush is waited for after the commit only when this commit is the database's
        # COMMIT: a session joined to an outer transaction (a savepoint in the tests) leaves
        # the outer transaction's commit as it is.
        connection = session.connection()
        defer = isinstance(session.get_bind(), Engine)
        appended = _append_postgresql(session, pending, defer_flush=defer)
        if defer:
            session.info[DURABLE_KEY] = connection
    else:
        appended = _append_locked(session, pending)
    session.info[APPENDED_KEY] = appended
    # The events took seqs first..last in queue order.
    listed = [
        {"case_id": case_id, "seq": appended[0] + position}
        for position, item in enumerate(queued)
        for case_id in item.listed_cases
    ]
    if not listed:
        return
    # One cached statement whatever the page size (a multi-row `.values(listed)` was compiled
    # anew for every size and cost milliseconds of CPU per list): on PostgreSQL one INSERT of
    # two unnested arrays, on SQLite an executemany (native, no round trips).
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _INDEX_LISTED_PG,
            {"cases": [row["case_id"] for row in listed], "seqs": [row["seq"] for row in listed]},
        )
    else:
        session.execute(_INDEX_LISTED, listed)


_INDEX_LISTED = insert(AuditEventCase.__table__)  # type: ignore[arg-type]
_INDEX_LISTED_PG = text(
    "INSERT INTO audit_event_cases (case_id, seq) "
    "SELECT * FROM unnest(CAST(:cases AS uuid[]), CAST(:seqs AS bigint[]))"
)


def _append_postgresql(
    session: Session, pending: list[dict[str, Any]], *, defer_flush: bool
) -> tuple[int, int, str]:
    """One round trip under the lock: `haven_audit_append` (migration 0002) takes the advisory
    lock, reads the head, completes each event's hash from its prepared prefix and inserts.
    With `defer_flush`, the same statement sets `synchronous_commit = off` for this transaction
    (`set_config(..., true)` is `SET LOCAL`): the flush is then waited for after the commit, by
    `_wait_until_durable`, outside the lock."""
    events = []
    for values in pending:
        item = {name: _json_value(values[name]) for name in CONTENT_COLUMNS}
        item["prefix"] = content_prefix(values)
        events.append(item)
    append = "haven_audit_append(CAST(:key AS bigint), CAST(:events AS jsonb))"
    if defer_flush:
        append = f"{append}, set_config('synchronous_commit', 'off', true)"
    first, last, last_hash = session.execute(
        text(f"SELECT {append}"),
        {"key": CHAIN_LOCK_KEY, "events": json.dumps(events, ensure_ascii=True)},
    ).one()[0]
    return int(first), int(last), str(last_hash)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _append_locked(session: Session, pending: list[dict[str, Any]]) -> tuple[int, int, str]:
    """SQLite: the transaction began with BEGIN IMMEDIATE and already holds the write lock."""
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS_HASH)
    first = seq + 1
    for values in pending:
        seq += 1
        values["seq"] = seq
        values["prev_hash"] = prev
        values["hash"] = prev = chained_hash(content_prefix(values), seq, prev)
    session.execute(insert(AuditEvent), pending)
    return first, seq, prev


def _wait_until_durable(connection: Connection) -> None:
    """Return once the write-ahead log is flushed past the commit just made on `connection`.

    One statement in its own transaction that writes a record to the log (a transactional
    logical-decoding message: it touches no table, and any role may emit one) and so, at its
    commit, waits for the log to be flushed up to that commit, which lies after the audited
    one. It runs on the same pooled connection, in autocommit: one round trip, no extra
    connection taken from the pool."""
    driver = connection.connection.driver_connection
    if driver is None:  # pragma: no cover - a checked-out connection always has one
        raise RuntimeError("no database connection")
    was = driver.autocommit
    driver.autocommit = True
    try:
        driver.execute("SELECT pg_logical_emit_message(true, %s, '')", (DURABLE_MESSAGE_PREFIX,))
    finally:
        with contextlib.suppress(Exception):  # a broken connection is discarded by the pool
            driver.autocommit = was


def _after_commit(session: Session) -> None:
    durable_on = session.info.pop(DURABLE_KEY, None)
    if durable_on is not None:
        # Raises when the flush cannot be confirmed: the request must not be acknowledged.
        _wait_until_durable(durable_on)
    appended = session.info.pop(APPENDED_KEY, None)
    checkpointer = session.info.get(CHECKPOINTER_KEY)
    if appended is None or checkpointer is None:
        return
    try:
        checkpointer.after_append(*appended)
    except Exception:
        # The events are committed; a checkpoint that could not be written is retried at the
        # next trigger. Operators see this in the logs.
        log.exception("could not write an audit checkpoint")


def _forget_rolled_back(session: Session, transaction: SessionTransaction) -> None:
    """A savepoint or the whole transaction rolled back: drop the events recorded inside it."""
    session.info.pop(APPENDED_KEY, None)
    session.info.pop(DURABLE_KEY, None)
    queued: list[_Pending] | None = session.info.get(PENDING_KEY)
    if queued:
        session.info[PENDING_KEY] = [e for e in queued if transaction not in e.transactions]


_installed = False


def install_chain_hook() -> None:
    """Register the commit-time chaining on every Session (idempotent)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "before_commit", _chain_pending)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _forget_rolled_back)
    _installed = True
