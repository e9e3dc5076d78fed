"""In-process benchmarks: the crypto path per record, audit verify, audit appends.

`cryptography`, `hmac` and `hashlib` are used directly here only for the bare baselines (bench is
not product code); Haven's side always goes through Haven's own functions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bench.dbutil import libpq_dsn
from models.audit import AuditEvent
from services import audit
from services.actions import Action
from services.audit.chain import CHAIN_VERSION, canonical_select_columns
from services.audit.enums import ActorType
from services.audit.log import Actor
from services.audit.verify import verify_chain
from services.cases.search_index import blind_index
from services.config import Settings
from services.crypto import Keyring, decrypt_field, encrypt_field, new_data_key


def _interleave(
    rounds: int, haven: Callable[[], float], bare: Callable[[], float]
) -> tuple[list[float], list[float]]:
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        a.append(haven())
        b.append(bare())
    return a, b


# --- 6. crypto path per record -------------------------------------------------------------------
def crypto_path(keyring: Keyring, settings: Settings, records: int, rounds: int) -> dict[str, Any]:
    """Per record: unwrap the data key, decrypt 1 KB, one blind-index token; against the bare
    `AESGCM` unwrap + decrypt and one `hmac` SHA-256 over the same inputs."""
    plaintext = os.urandom(512).hex().encode()  # 1 KB
    name = "Amal Haddad"
    items = []
    for _ in range(records):
        dek = new_data_key()
        wrapped = keyring.wrap_data_key(dek)
        record_id = uuid.uuid4()
        blob = encrypt_field(dek, plaintext, table="cases", record_id=record_id, field="content")
        items.append((wrapped, record_id, blob))
    # Bare equivalents: the same sizes, one KEK, raw nonces and associated data.
    kek = AESGCM.generate_key(bit_length=256)
    hmac_key = os.urandom(32)
    bare_items = []
    for _ in range(records):
        dek = AESGCM.generate_key(bit_length=256)
        n1, n2 = os.urandom(12), os.urandom(12)
        aad = uuid.uuid4().bytes + b"cases.content"
        bare_items.append(
            (
                n1,
                AESGCM(kek).encrypt(n1, dek, b"wrap"),
                n2,
                AESGCM(dek).encrypt(n2, plaintext, aad),
                aad,
            )
        )

    def haven() -> float:
        started = time.perf_counter()
        for wrapped, record_id, blob in items:
            dek = keyring.unwrap_data_key(wrapped)
            decrypt_field(dek, blob, table="cases", record_id=record_id, field="content")
            blind_index(keyring, settings).token("full_name", name)
        return (time.perf_counter() - started) / records * 1e6

    def bare() -> float:
        started = time.perf_counter()
        for n1, wrapped, n2, blob, aad in bare_items:
            dek = AESGCM(kek).decrypt(n1, wrapped, b"wrap")
            AESGCM(dek).decrypt(n2, blob, aad)
            hmac.new(hmac_key, name.encode(), hashlib.sha256).digest()
        return (time.perf_counter() - started) / records * 1e6

    haven()
    bare()  # warm up
    a, b = _interleave(rounds, haven, bare)
    # Where Haven's time goes (one pass each, for the report)
    started = time.perf_counter()
    for wrapped, _, _ in items:
        keyring.unwrap_data_key(wrapped)
    unwrap = (time.perf_counter() - started) / records * 1e6
    index = blind_index(keyring, settings)
    started = time.perf_counter()
    for _ in items:
        index.token("full_name", name)
    token_cached = (time.perf_counter() - started) / records * 1e6
    started = time.perf_counter()
    for _ in items:
        blind_index(keyring, settings).token("full_name", name)
    token_fresh = (time.perf_counter() - started) / records * 1e6
    return {
        "records": records,
        "haven_us_per_record": a,
        "bare_us_per_record": b,
        "breakdown_us": {
            "unwrap": round(unwrap, 2),
            "blind_index_token_cached_index": round(token_cached, 2),
            "blind_index_token_fresh_index": round(token_fresh, 2),
        },
    }


# --- 5b. audit verify ----------------------------------------------------------------------------
def audit_verify(
    engine: Engine, db_name: str, settings: Settings, keyring: Keyring, rounds: int
) -> dict[str, Any]:
    """`verify_chain` (what `haven audit verify` runs) over the whole chain, against two bare
    loops over the same rows: (a) SHA-256 of each row's canonical bytes already in memory (pure
    hashing), (b) read the same rows (raw psycopg, same columns) and SHA-256 each row's canonical
    bytes: the least any verifier must do, with none of verify's comparisons."""
    trusted = frozenset({keyring.signing_public_key()})
    checkpoint_file = Path(settings.audit_checkpoint_file)

    def haven() -> tuple[float, int, bool]:
        with engine.connect() as connection:
            started = time.perf_counter()
            report = verify_chain(connection, checkpoint_file=checkpoint_file, trusted_keys=trusted)
            seconds = time.perf_counter() - started
        return seconds, report.events_checked, report.valid

    columns_sql = _canonical_sql(engine)
    # The canonical encoding (`services.audit.chain`), spelled out with the standard library.
    encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode

    # The same bytes and the same hash as verify (a row's hash is SHA-256 over its canonical
    # bytes, which end with `prev_hash`), so the ratio measures verify's overhead and nothing
    # else: no cheaper stand-in encoding, no comparison with the stored hash.
    def bare_read_and_hash() -> tuple[float, int]:
        with psycopg.connect(libpq_dsn(db_name)) as conn:
            started = time.perf_counter()
            count = 0
            sha = hashlib.sha256
            with conn.cursor(name="bench_verify") as cur:
                cur.itersize = 5000
                cur.execute(columns_sql)
                for row in cur:
                    sha(encode([CHAIN_VERSION, *row[:-1]]).encode()).hexdigest()
                    count += 1
            return time.perf_counter() - started, count

    # The canonical bytes of every row, materialised once (not timed), for the pure hash loop;
    # each checked against the stored hash, so both bare loops are known to hash what verify does.
    materialised: list[bytes] = []
    with psycopg.connect(libpq_dsn(db_name)) as conn, conn.cursor(name="bench_mat") as cur:
        cur.itersize = 5000
        cur.execute(columns_sql)
        for row in cur:
            data = encode([CHAIN_VERSION, *row[:-1]]).encode()
            if hashlib.sha256(data).hexdigest() != row[-1]:
                raise RuntimeError(f"the bare loops' bytes are not the canonical bytes of {row}")
            materialised.append(data)

    def bare_hash_only() -> tuple[float, int]:
        sha = hashlib.sha256
        started = time.perf_counter()
        for data in materialised:
            sha(data).hexdigest()
        return time.perf_counter() - started, len(materialised)

    runs: list[dict[str, Any]] = []
    for _ in range(rounds):
        h_seconds, h_count, valid = haven()
        b_seconds, b_count = bare_read_and_hash()
        p_seconds, p_count = bare_hash_only()
        runs.append(
            {
                "haven_events_per_s": h_count / h_seconds,
                "bare_read_hash_events_per_s": b_count / b_seconds,
                "bare_hash_only_events_per_s": p_count / p_seconds,
                "haven_seconds": h_seconds,
                "events": h_count,
                "valid": valid,
            }
        )
    return {"events": runs[-1]["events"], "runs": runs}


def _canonical_sql(engine: Engine) -> str:
    table = AuditEvent.__table__
    statement = select(*canonical_select_columns("postgresql"), table.c.hash).order_by(table.c.seq)
    return str(statement.compile(engine, compile_kwargs={"literal_binds": True}))


# --- 5a. audit appends ---------------------------------------------------------------------------
PLAIN_AUDIT = Table(
    "audit_events_plain",
    MetaData(),
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_type", String(16), nullable=False),
    Column("actor_id", Uuid()),
    Column("actor_role", String(32)),
    Column("actor_agency_id", Uuid()),
    Column("action", String(64), nullable=False),
    Column("resource_type", String(32)),
    Column("resource_id", String(64)),
    Column("case_id", Uuid()),
    Column("fields", Text),
    Column("outcome", String(16), nullable=False),
    Column("client_address", String(64)),
    Column("request_id", String(64)),
    Column("detail", Text),
)


def _threads(writers: int, seconds: float, work: Callable[[], None]) -> float:
    """Run `work` in a loop on `writers` threads for `seconds`; appends per second."""
    counts = [0] * writers
    stop = time.perf_counter() + seconds

    def loop(slot: int) -> None:
        while time.perf_counter() < stop:
            work()
            counts[slot] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return sum(counts) / (time.perf_counter() - started)


def audit_appends(
    haven_factory: sessionmaker[Session],
    baseline_engine: Engine,
    writer_counts: tuple[int, ...],
    seconds: float,
    rounds: int,
) -> dict[str, Any]:
    """Commits of one audit event each: Haven's `audit.record` + commit (chained at commit under
    the chain lock) against a plain INSERT of the same row into an unchained table."""
    PLAIN_AUDIT.create(baseline_engine, checkfirst=True)
    plain_factory = sessionmaker(bind=baseline_engine)
    actor = Actor(type=ActorType.USER, id=uuid.uuid4(), role="caseworker", agency_id=uuid.uuid4())

    def haven_one() -> None:
        case_id = uuid.uuid4()
        with haven_factory() as session:
            audit.record(
                session,
                actor,
                Action.CASE_READ,
                resource_type="case",
                resource_id=case_id,
                case_id=case_id,
            )
            session.commit()

    def plain_one() -> None:
        case_id = uuid.uuid4()
        with plain_factory() as session:
            session.execute(
                insert(PLAIN_AUDIT).values(
                    at=datetime.now(UTC),
                    actor_type="user",
                    actor_id=actor.id,
                    actor_role=actor.role,
                    actor_agency_id=actor.agency_id,
                    action="case.read",
                    resource_type="case",
                    resource_id=str(case_id),
                    case_id=case_id,
                    outcome="success",
                )
            )
            session.commit()

    results: dict[str, Any] = {}
    for writers in writer_counts:
        a, b = _interleave(
            rounds,
            lambda w=writers: _threads(w, seconds, haven_one),
            lambda w=writers: _threads(w, seconds, plain_one),
        )
        results[str(writers)] = {"haven_per_s": a, "baseline_per_s": b}
    with baseline_engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_events_plain"))
    return results
