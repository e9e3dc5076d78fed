"""The documented bulk loader for Haven's bench database.

Seeding 50,000 cases through `POST /cases` would take most of an hour on 2 cores, so this loader
writes the rows directly with PostgreSQL COPY, but every byte that matters comes from Haven's own
code, so the data is real and Haven reads it as its own:

- schema: `services.database.migrate` (the real migrations, triggers included);
- data keys: `services.crypto.new_data_key` + the bench keyring's `wrap_data_key` (the
  `data_keys` rows `create_data_key` would write);
- case content: `services.cases.content.encrypt_document` (the intake's own encryption);
- search tokens: `services.cases.search_index.token_rows` (the name tokens and the compound
  duplicate-check tokens, from the same `BlindIndex`, sized by the same settings as the server);
- notes and referral texts: `services.cases.access.encrypt_for_case` with the tables and fields
  the notes and referrals services use;
- schedule: `services.cases.schedule.reschedule`;
- audit: ~20 events per case (create, notes, reads, updates, referral create/approve), each
  chained with `services.audit.chain.tuple_hash` exactly as the commit hook chains them, then
  the head signed into the checkpoint file with the service's `Checkpointer`.
What it skips: policy checks, idempotency records and the HTTP layer (nothing is stored by them
for a case that was not created through them).
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg

from bench.config import CACHE_DIR, database_url, haven_key_file
from bench.dbutil import libpq_dsn
from bench.plan import AGENCIES, AUDIT_EVENTS_PER_CASE, PARTNERS, Layout, case_data
from models.audit import AuditEvent
from models.cases import Case, CaseNumberCounter
from models.db import make_engine, make_session_factory
from models.identity import Agency, User
from services.audit.chain import CHAINED_COLUMNS, GENESIS_HASH, tuple_hash
from services.audit.checkpoints import Checkpointer
from services.cases import search_index
from services.cases.access import encrypt_for_case
from services.cases.content import DOCUMENT_KEYS, encrypt_document
from services.cases.notes import NOTE_FIELD, NOTE_TABLE
from services.cases.schedule import reschedule
from services.config import Settings
from services.crypto import Keyring, init_keyring, new_data_key
from services.crypto.passwords import hash_password
from services.database import migrate
from services.referrals.views import REFERRALS_TABLE

BENCH_PASSWORD = "bench password that nobody uses"  # users log in with issued tokens only


def haven_settings(db_name: str) -> Settings:
    """The settings the bench server and the loader share (the server gets them as HAVEN_*)."""
    return Settings(
        database_url=database_url(db_name),
        key_file=haven_key_file(),
        audit_checkpoint_file=CACHE_DIR / f"{db_name}-checkpoints.jsonl",
    )


def haven_env(settings: Settings) -> dict[str, str]:
    return {
        "HAVEN_DATABASE_URL": settings.database_url,
        "HAVEN_KEY_FILE": str(settings.key_file),
        "HAVEN_AUDIT_CHECKPOINT_FILE": str(settings.audit_checkpoint_file),
    }


class _Chain:
    """Audit events chained exactly as `services.audit.log` chains them at commit."""

    def __init__(self) -> None:
        self.seq = 0
        self.prev = GENESIS_HASH

    def row(self, values: dict[str, Any]) -> tuple[Any, ...]:
        self.seq += 1
        values["seq"] = self.seq
        values["prev_hash"] = self.prev
        self.prev = values["hash"] = tuple_hash([values[name] for name in CHAINED_COLUMNS])
        return tuple(values[name] for name in AUDIT_COLUMNS)


AUDIT_COLUMNS = (*CHAINED_COLUMNS, "hash")


def _event(
    at: Any,
    user: tuple[uuid.UUID, str, uuid.UUID],
    action: str,
    resource_type: str,
    resource_id: uuid.UUID,
    case_id: uuid.UUID,
    fields: list[str] | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    user_id, role, agency_id = user
    return {
        "at": at,
        "actor_type": "user",
        "actor_id": user_id,
        "actor_role": role,
        "actor_scopes": None,
        "actor_agency_id": agency_id,
        "action": action,
        "resource_type": resource_type,
        "resource_id": str(resource_id),
        "case_id": case_id,
        "fields": json.dumps(sorted(set(fields))) if fields else None,
        "outcome": "success",
        "client_address": "127.0.0.1",
        "request_id": secrets.token_hex(16),
        "detail": json.dumps(detail, sort_keys=True) if detail else None,
    }


def _copy(cur: psycopg.Cursor[Any], table: str, columns: tuple[str, ...], rows: Any) -> int:
    count = 0
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def seed_haven(db_name: str, cases: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    started = time.perf_counter()
    settings = haven_settings(db_name)
    settings.audit_checkpoint_file.unlink(missing_ok=True)
    keyring: Keyring = init_keyring(settings)
    engine = make_engine(settings.database_url)
    migrate(engine)
    layout = Layout(cases)

    # --- agencies and staff (a few hundred rows: through the ORM) --------------------------
    password_hash = hash_password(BENCH_PASSWORD)
    with make_session_factory(engine)() as session, session.begin():
        agencies = [Agency(name=f"Bench agency {a}") for a in range(AGENCIES)]
        partners = [Agency(name=f"Bench partner {p}") for p in range(PARTNERS)]
        session.add_all([*agencies, *partners])
        session.flush()
        caseworkers = [
            [
                User(
                    username=f"cw-{a}-{w}",
                    password_hash=password_hash,
                    role="caseworker",
                    agency_id=agencies[a].id,
                )
                for w in range(layout.caseworkers_per_agency)
            ]
            for a in range(AGENCIES)
        ]
        supervisors = [
            User(
                username=f"sup-{a}",
                password_hash=password_hash,
                role="supervisor",
                agency_id=agencies[a].id,
            )
            for a in range(AGENCIES)
        ]
        session.add_all([u for row in caseworkers for u in row] + supervisors)
        session.flush()
        agency_ids = [a.id for a in agencies]
        partner_ids = [p.id for p in partners]
        worker_ids = [[u.id for u in row] for row in caseworkers]
        supervisor_ids = [u.id for u in supervisors]

    compact: list[tuple[Any, ...]] = []
    counters: dict[tuple[uuid.UUID, int], int] = {}
    t_crypto = time.perf_counter()
    with psycopg.connect(libpq_dsn(db_name)) as conn, conn.cursor() as cur:
        keys_rows: list[tuple[Any, ...]] = []
        case_rows: list[tuple[Any, ...]] = []
        token_rows: list[tuple[Any, ...]] = []
        note_rows: list[tuple[Any, ...]] = []
        referral_rows: list[tuple[Any, ...]] = []
        for i in range(cases):
            data = case_data(i)
            body = data.body
            a, w = layout.owner_of(i)
            owner = worker_ids[a][w]
            created = layout.created_at(i)
            case_id = uuid.uuid4()
            dek = new_data_key()
            wrapped = keyring.wrap_data_key(dek)
            key_id = uuid.uuid4()
            keys_rows.append((key_id, wrapped.kek_version, wrapped.blob, created))
            document = {key: body.get(key) for key in DOCUMENT_KEYS}
            count_key = (agency_ids[a], created.year)
            counters[count_key] = number = counters.get(count_key, 0) + 1
            case = Case(
                id=case_id,
                status="open",
                stage="registration",
                risk_level=body["risk_level"],
                created_at=created,
                stage_changed_at=created,
            )
            reschedule(settings, case)
            case_rows.append(
                (
                    case_id,
                    f"HVN-{created.year}-{number:06d}",
                    agency_ids[a],
                    owner,
                    "open",
                    "registration",
                    body["risk_level"],
                    1,
                    key_id,
                    encrypt_document(dek, case_id, document),
                    created,
                    created,
                    created,
                    case.next_action_due_at,
                )
            )
            token_rows.extend(
                (case_id, field, token)
                for field, token in search_index.token_rows(
                    keyring, settings, document, created.date()
                )
            )
            note_ids = []
            for k, text in enumerate(data.notes):
                note_id = uuid.uuid4()
                note_ids.append(note_id)
                blob = encrypt_for_case(
                    dek, text, table=NOTE_TABLE, record_id=note_id, field=NOTE_FIELD
                )
                note_rows.append(
                    (note_id, case_id, owner, blob, created + timedelta(minutes=k + 1))
                )
            referral_id = None
            if data.referral is not None:
                r = data.referral
                referral_id = uuid.uuid4()
                sent = created + timedelta(hours=2)
                referral_rows.append(
                    (
                        referral_id,
                        case_id,
                        agency_ids[a],
                        partner_ids[i % PARTNERS],
                        r["service_type"],
                        r["urgency"],
                        "sent",
                        2,
                        json.dumps(r["shared_fields"]),
                        encrypt_for_case(
                            dek,
                            r["reason"],
                            table=REFERRALS_TABLE,
                            record_id=referral_id,
                            field="reason",
                        ),
                        r["consent"]["given_by"],
                        created,
                        encrypt_for_case(
                            dek,
                            r["consent"]["note"],
                            table=REFERRALS_TABLE,
                            record_id=referral_id,
                            field="consent_note",
                        ),
                        owner,
                        created + timedelta(hours=1),
                        sent,
                        supervisor_ids[a],
                        sent,
                        sent + timedelta(days=3),
                    )
                )
            compact.append((case_id, a, owner, created, note_ids, referral_id))
        log(f"haven: encrypted {cases} cases in {time.perf_counter() - t_crypto:.1f}s")
        _copy(cur, "data_keys", ("id", "kek_version", "wrapped_key", "created_at"), keys_rows)
        _copy(
            cur,
            "cases",
            (
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
                "next_action_due_at",
            ),
            case_rows,
        )
        _copy(cur, "case_search_tokens", ("case_id", "field", "token"), token_rows)
        _copy(
            cur,
            "case_notes",
            ("id", "case_id", "author_id", "text_encrypted", "created_at"),
            note_rows,
        )
        _copy(
            cur,
            "referrals",
            (
                "id",
                "case_id",
                "from_agency_id",
                "to_agency_id",
                "service_type",
                "urgency",
                "status",
                "version",
                "shared_fields",
                "reason_encrypted",
                "consent_given_by",
                "consent_obtained_at",
                "consent_note_encrypted",
                "created_by",
                "created_at",
                "updated_at",
                "approved_by",
                "approved_at",
                "respond_due_at",
            ),
            referral_rows,
        )
        del keys_rows, case_rows, token_rows, note_rows, referral_rows
        for (agency_id, year), last in counters.items():
            cur.execute(
                f"INSERT INTO {CaseNumberCounter.__tablename__} (agency_id, year, last_value) "
                "VALUES (%s, %s, %s)",
                (agency_id, year, last),
            )
        conn.commit()
        log(
            f"haven: cases, keys, tokens, notes, referrals written "
            f"({time.perf_counter() - started:.1f}s)"
        )

        # --- the audit chain: ~20 events per case, chained in order -------------------------
        chain = _Chain()

        def events() -> Any:
            for case_id, a, owner, created, note_ids, referral_id in compact:
                user = (owner, "caseworker", agency_ids[a])
                supervisor = (supervisor_ids[a], "supervisor", agency_ids[a])
                minute = timedelta(seconds=30)
                at = created
                yield chain.row(
                    _event(
                        at,
                        user,
                        "case.create",
                        "case",
                        case_id,
                        case_id,
                        fields=[*DOCUMENT_KEYS, "risk_level"],
                        detail={"possible_duplicates": 0},
                    )
                )
                batch: list[dict[str, Any]] = []
                for note_id in note_ids:
                    batch.append(
                        _event(None, user, "note.create", "note", note_id, case_id, fields=["text"])
                    )
                batch.append(
                    _event(
                        None, user, "case.update", "case", case_id, case_id, fields=["narrative"]
                    )
                )
                batch.append(
                    _event(
                        None, user, "case.update", "case", case_id, case_id, fields=["risk_level"]
                    )
                )
                if referral_id is not None:
                    batch.append(
                        _event(
                            None,
                            user,
                            "referral.create",
                            "referral",
                            referral_id,
                            case_id,
                            fields=["consent", "reason", "shared_fields"],
                        )
                    )
                    batch.append(
                        _event(
                            None, supervisor, "referral.approve", "referral", referral_id, case_id
                        )
                    )
                while len(batch) < AUDIT_EVENTS_PER_CASE - 1:
                    batch.insert(
                        len(batch) // 2, _event(None, user, "case.read", "case", case_id, case_id)
                    )
                for values in batch:
                    at = at + minute
                    values["at"] = at
                    yield chain.row(values)

        t_audit = time.perf_counter()
        count = _copy(cur, AuditEvent.__tablename__, AUDIT_COLUMNS, events())
        conn.commit()
        log(
            f"haven: {count} audit events chained and written in "
            f"{time.perf_counter() - t_audit:.1f}s"
        )
    Checkpointer(settings, keyring).write(chain.seq, chain.prev)
    with psycopg.connect(libpq_dsn(db_name), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    engine.dispose()
    seconds = time.perf_counter() - started
    log(f"haven: seeded {cases} cases, {count} audit events in {seconds:.1f}s")
    return {"cases": cases, "audit_events": count, "seconds": round(seconds, 1)}


def seed_audit(db_name: str, events: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    """A database holding only an audit chain of `events` events (for the verify benchmark, so
    its size does not depend on the case dataset): the real schema, the same event mix as the
    case loader (about 20 per case: create, notes, reads, updates, referral), chained with
    `tuple_hash`, the head signed with the service's `Checkpointer`."""
    started = time.perf_counter()
    settings = haven_settings(db_name)
    settings.audit_checkpoint_file.unlink(missing_ok=True)
    keyring: Keyring = init_keyring(settings)
    engine = make_engine(settings.database_url)
    migrate(engine)
    engine.dispose()
    chain = _Chain()
    agency = uuid.uuid4()
    workers = [(uuid.uuid4(), "caseworker", agency) for _ in range(50)]
    supervisor = (uuid.uuid4(), "supervisor", agency)
    layout = Layout(max(1, events // AUDIT_EVENTS_PER_CASE))

    def rows() -> Any:
        produced = 0
        i = 0
        while produced < events:
            case_id = uuid.uuid4()
            user = workers[i % len(workers)]
            at = layout.created_at(i)
            kinds = ["case.create", "note.create", "note.create", "case.update", "case.update"]
            if i % 3 == 0:
                kinds += ["referral.create", "referral.approve"]
            kinds += ["case.read"] * (AUDIT_EVENTS_PER_CASE - len(kinds))
            for action in kinds:
                if produced >= events:
                    return
                actor = supervisor if action == "referral.approve" else user
                kind = action.split(".")[0]
                resource = case_id if kind == "case" else uuid.uuid4()
                fields = ["narrative"] if action == "case.update" else None
                values = _event(at, actor, action, kind, resource, case_id, fields=fields)
                at = at + timedelta(seconds=30)
                yield chain.row(values)
                produced += 1
            i += 1

    with psycopg.connect(libpq_dsn(db_name)) as conn, conn.cursor() as cur:
        count = _copy(cur, AuditEvent.__tablename__, AUDIT_COLUMNS, rows())
        conn.commit()
    Checkpointer(settings, keyring).write(chain.seq, chain.prev)
    with psycopg.connect(libpq_dsn(db_name), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE audit_events")
    seconds = time.perf_counter() - started
    log(f"audit: {count} chained events written in {seconds:.1f}s")
    return {"audit_events": count, "seconds": round(seconds, 1)}
