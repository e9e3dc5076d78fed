"""Building the evaluation database with Haven's own code, running the enquiries, the figures.

The cases are written the way intake writes them (a data key wrapped by the keyring, the
document encrypted by `services.cases.content.encrypt_document`, tracing tokens from
`services.tracing.tokens`), directly in batches: registering 50,000 children through HTTP would
take most of an hour on two cores, and what is measured is the matcher, not intake. Enquiries
go through `services.tracing.matches.rank_cases`, the function `POST /tracing-requests` uses.
"""

from __future__ import annotations

import math
import random
import statistics
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bench.tracing_eval.dataset import TODAY, Child, Enquiry
from bench.tracing_eval.names import Pools
from models.cases import Case
from models.db import make_engine, make_session_factory
from models.identity import Agency, User
from models.keys import DataKey
from models.tracing import CaseTracingToken
from services.cases.content import encrypt_document
from services.config import Settings
from services.crypto import Keyring, load_keyring, new_data_key
from services.crypto.setup import prepare_keyring
from services.database import migrate
from services.tracing.keys import KeyKind, NameField, plan
from services.tracing.matching import rank_cases, request_person
from services.tracing.normalise import name_units, phonetics, skeletons
from services.tracing.scoring import LIKELY_SCORE
from services.tracing.tokens import case_parts, request_parts, tokenizer

TARGET_PRECISION = 0.95


def _settings(folder: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{folder / 'eval.db'}", key_file=folder / "keyring.json"
    )


def reopen_database(
    folder: Path, cases: int
) -> tuple[sessionmaker[Session], Keyring, Settings, dict[int, uuid.UUID]] | None:
    """The database an earlier run with the same size and seed left in `folder`, or None: lets
    a change of the scorer or the candidate ranking be re-measured without rebuilding."""
    settings = _settings(folder)
    if not (folder / "eval.db").exists() or not settings.key_file.exists():
        return None
    engine = make_engine(settings.database_url)
    migrate(engine)  # the schema may have moved on since the database was built
    factory = make_session_factory(engine)
    with factory() as session:
        rows = session.execute(select(Case.id, Case.case_number)).all()
    if len(rows) != cases:
        return None
    ids = {int(number.split("-")[1]): case_id for case_id, number in rows}
    return factory, load_keyring(settings), settings, ids


def open_database(folder: Path) -> tuple[sessionmaker[Session], Keyring, Settings]:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Each run builds a new database, so it gets a new keyring too (an old key file beside a new
    # database is what `haven migrate` refuses; a fresh clone has neither).
    for stale in [*folder.glob("eval.db*"), folder / "keyring.json"]:
        stale.unlink(missing_ok=True)
    settings = _settings(folder)
    with prepare_keyring(settings) as engine:
        migrate(engine)
    return (
        make_session_factory(make_engine(settings.database_url)),
        load_keyring(settings),
        settings,
    )


def load_cases(
    factory: sessionmaker[Session], keyring: Keyring, settings: Settings, children: list[Child]
) -> dict[int, uuid.UUID]:
    """Write every child as a case (batches of 1,000); returns child index → case id."""
    tokens_of = tokenizer(keyring, settings.planned_case_count)
    now = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)
    ids: dict[int, uuid.UUID] = {}
    with factory() as session:
        agency = Agency(name="Tracing evaluation")
        session.add(agency)
        session.flush()
        owner = User(
            username="tracing-eval",
            password_hash="-",
            role="caseworker",
            agency_id=agency.id,
        )
        session.add(owner)
        session.commit()
        for start in range(0, len(children), 1000):
            keys, cases, tokens = [], [], []
            for child in children[start : start + 1000]:
                case_id, key_id, dek = uuid.uuid4(), uuid.uuid4(), new_data_key()
                wrapped = keyring.wrap_data_key(dek)
                keys.append(
                    {"id": key_id, "kek_version": wrapped.kek_version, "wrapped_key": wrapped.blob}
                )
                document = {
                    "child": child.document["child"],
                    "location": {"governorate": "-", "district": "-"},
                    "caregivers": [],
                    "separation_status": "separated",
                    "protection_concerns": [],
                }
                cases.append(
                    {
                        "id": case_id,
                        "case_number": f"EVAL-{child.index:07d}",
                        "agency_id": agency.id,
                        "owner_id": owner.id,
                        "status": "open",
                        "stage": "registration",
                        "risk_level": "low",
                        "version": 1,
                        "data_key_id": key_id,
                        "content": encrypt_document(dek, case_id, document),
                        "created_at": now,
                        "updated_at": now,
                        "stage_changed_at": now,
                    }
                )
                for (name_field, kind), values in tokens_of.tokens(case_parts(document)).items():
                    tokens.extend(
                        {
                            "case_id": case_id,
                            "field": name_field.value,
                            "kind": kind.value,
                            "token": t,
                        }
                        for t in values
                    )
                ids[child.index] = case_id
            session.execute(insert(DataKey), keys)
            session.execute(insert(Case), cases)
            session.execute(insert(CaseTracingToken), tokens)
            session.commit()
    return ids


@dataclass
class Outcome:
    enquiry: Enquiry
    found: list[tuple[uuid.UUID, float]]
    decrypted: int
    seconds: float
    cpu_seconds: float


def run_enquiries(
    factory: sessionmaker[Session],
    keyring: Keyring,
    settings: Settings,
    enquiries: list[Enquiry],
) -> list[Outcome]:
    tokens_of = tokenizer(keyring, settings.planned_case_count)
    outcomes = []
    with factory() as session:
        for enquiry in enquiries:
            started, cpu = time.perf_counter(), time.process_time()
            tokens = tokens_of.tokens(request_parts(enquiry.document))
            ranked = rank_cases(session, keyring, request_person(enquiry.document, TODAY), tokens)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            found = [(case_id, comparison.score) for case_id, comparison in ranked.results]
            outcomes.append(Outcome(enquiry, found, ranked.decrypted, seconds, cpu))
            session.rollback()  # a fresh snapshot, as each request has
    return outcomes


def _share(hits: Iterable[bool]) -> tuple[float, int]:
    values = list(hits)
    return (sum(values) / len(values) if values else float("nan"), len(values))


def recall(outcomes: list[Outcome], ids: dict[int, uuid.UUID]) -> dict[str, tuple[float, int]]:
    positives = [o for o in outcomes if o.enquiry.target is not None]

    def hit(outcome: Outcome) -> bool:
        target = ids[outcome.enquiry.target]  # type: ignore[index]
        return any(case_id == target for case_id, _ in outcome.found)

    return {
        "overall": _share(hit(o) for o in positives),
        "cross-script": _share(hit(o) for o in positives if o.enquiry.cross_script),
        "Kurdish": _share(hit(o) for o in positives if o.enquiry.group == "kurdish"),
        "Iraqi": _share(hit(o) for o in positives if o.enquiry.group == "iraqi"),
        "changed given name": _share(
            hit(o) for o in positives if "changed_given_name" in o.enquiry.noise
        ),
    }


def _labelled(outcomes: list[Outcome], ids: dict[int, uuid.UUID]) -> list[tuple[float, bool]]:
    """(score, correct) of every result `likely` could be given: an enquiry's best result when it
    is strictly ahead of the next (the shipped rule, `services/tracing/scoring.label_of`)."""
    results = []
    for outcome in outcomes:
        if not outcome.found:
            continue
        target = ids.get(outcome.enquiry.target) if outcome.enquiry.target is not None else None
        ordered = sorted(outcome.found, key=lambda item: -item[1])
        best_id, best = ordered[0]
        runner_up = ordered[1][1] if len(ordered) > 1 else None
        if runner_up is None or best > runner_up:
            results.append((best, best_id == target))
    return results


def precision_at(results: list[tuple[float, bool]], threshold: float) -> tuple[float, int]:
    return _share(correct for score, correct in results if score >= threshold)


def calibrate(results: list[tuple[float, bool]]) -> float:
    """The lowest threshold whose precision on `results` is at least the target."""
    for threshold in sorted({round(score, 2) for score, _ in results}):
        value, count = precision_at(results, threshold)
        if count and value >= TARGET_PRECISION:
            return threshold
    return 1.0


def likely_precision(outcomes: list[Outcome], ids: dict[int, uuid.UUID]) -> dict[str, Any]:
    calibration = _labelled(outcomes[0::2], ids)
    held_out = _labelled(outcomes[1::2], ids)
    calibrated = calibrate(calibration)
    return {
        "shipped threshold": LIKELY_SCORE,
        "precision (held-out half)": precision_at(held_out, LIKELY_SCORE),
        "precision (all)": precision_at(calibration + held_out, LIKELY_SCORE),
        "threshold calibrated on the other half": calibrated,
    }


def _keys(text: str, kind: str) -> set[str]:
    found: set[str] = set()
    for unit in name_units(text):
        if kind in ("skeleton", "either"):
            found |= skeletons(unit)
        if kind in ("phonetic", "either"):
            found |= phonetics(unit)
    return found


def key_pairs(pools: Pools, seed: int, count: int = 20_000) -> dict[str, dict[str, float]]:
    """Token-level variant recall and random false matches, beside Double Metaphone.

    Variant pairs: two attested spellings of one name (Latin/Latin) and the Arabic form with
    each of its spellings (Arabic/Latin). Random pairs: spellings of two different names.
    Keys are compared unkeyed (what the tokens would agree on without truncation), and as the
    stored tokens (truncated HMACs, whose extra coincidences are the point of truncation).
    """
    from doublemetaphone import doublemetaphone  # eval extra only

    rng = random.Random(seed + 2)
    names = [name for name in pools.given + pools.family if len(name.latin) >= 1]
    latin_pairs, cross_pairs = [], []
    for name in names:
        spellings = name.spellings()
        latin_pairs.extend((a, b) for i, a in enumerate(spellings) for b in spellings[i + 1 :])
        cross_pairs.extend((name.arabic, spelling) for spelling in spellings)
    rng.shuffle(latin_pairs)
    rng.shuffle(cross_pairs)
    random_pairs = []
    while len(random_pairs) < count:
        a, b = rng.sample(names, 2)
        if a.arabic != b.arabic:
            random_pairs.append((rng.choice(a.spellings()), rng.choice(b.spellings())))
    plan_bits = plan(Settings().planned_case_count).bits

    def agree(kind: str, a: str, b: str) -> bool:
        if kind == "double metaphone":
            return bool(doublemetaphone(a)[0]) and doublemetaphone(a)[0] == doublemetaphone(b)[0]
        return bool(_keys(a, kind) & _keys(b, kind))

    def truncated(a: str, b: str) -> bool:
        # Two different codes collide in a b-bit token with probability 2^-b (keyed HMAC).
        if agree("either", a, b):
            return True
        miss = 1.0
        for kind, bits in plan_bits.items():
            pairs = len(_keys(a, kind.value)) * len(_keys(b, kind.value))
            miss *= (1 - 2.0**-bits) ** pairs
        return rng.random() > miss

    table: dict[str, dict[str, float]] = {}
    for kind in ("skeleton", "phonetic", "either", "double metaphone"):
        table[kind] = {
            "Latin/Latin variants": _share(agree(kind, a, b) for a, b in latin_pairs[:count])[0],
            "Arabic/Latin variants": _share(agree(kind, a, b) for a, b in cross_pairs[:count])[0],
            "random pairs": _share(agree(kind, a, b) for a, b in random_pairs)[0],
        }
    table["stored tokens (either, truncated)"] = {
        "Latin/Latin variants": table["either"]["Latin/Latin variants"],
        "Arabic/Latin variants": table["either"]["Arabic/Latin variants"],
        "random pairs": _share(truncated(a, b) for a, b in random_pairs)[0],
    }
    table["_pairs"] = {
        "Latin/Latin variants": min(count, len(latin_pairs)),
        "Arabic/Latin variants": min(count, len(cross_pairs)),
        "random pairs": len(random_pairs),
    }
    return table


def leakage(
    factory: sessionmaker[Session],
    settings: Settings,
    children: list[Child],
    ids: dict[int, uuid.UUID],
    pools: Pools,
) -> dict[str, Any]:
    """Expected records per token value, what the dump shows, and a frequency attack.

    The attacker holds the `case_tracing_tokens` table and the public frequency list of the
    names database (Arabic form → count). For each field and kind it ranks token values by how
    many cases carry them and names by their public frequency, and guesses that the i-th most
    frequent token is the i-th most frequent name. A name is re-identified when the token of a
    child with that name is guessed as that name.
    """
    budget = plan(settings.planned_case_count)
    truth: dict[uuid.UUID, dict[str, str]] = {}
    for child in children:
        truth[ids[child.index]] = {
            "child": child.given.arabic,
            "father": child.father.arabic,
            "grandfather": child.grandfather.arabic,
        }
    public = [name for name, _ in sorted(pools.frequency.items(), key=lambda item: -item[1])]
    with factory() as session:
        rows = session.execute(
            select(
                CaseTracingToken.case_id,
                CaseTracingToken.field,
                CaseTracingToken.kind,
                CaseTracingToken.token,
            )
        ).all()
    per_record: dict[tuple[str, uuid.UUID], set[tuple[str, str]]] = defaultdict(set)
    token_records: dict[tuple[str, str, str], set[uuid.UUID]] = defaultdict(set)
    for case_id, field, kind, token in rows:
        per_record[(field, case_id)].add((kind, token))
        token_records[(field, kind, token)].add(case_id)
    attack: dict[str, Any] = {}
    names_hit: set[str] = set()
    names_seen: set[str] = set()
    records_hit = 0
    records_total = 0
    for field in ("child", "father", "grandfather"):
        for kind in KeyKind:
            counts = Counter(
                {
                    token: len(records)
                    for (f, k, token), records in token_records.items()
                    if f == field and k == kind.value
                }
            )
            guess = {
                token: public[i]
                for i, (token, _) in enumerate(counts.most_common())
                if i < len(public)
            }
            for (f, k, token), records in token_records.items():
                if f != field or k != kind.value:
                    continue
                for case_id in records:
                    name = truth[case_id][field]
                    names_seen.add(name)
                    records_total += 1
                    if guess.get(token) == name:
                        names_hit.add(name)
                        records_hit += 1
    attack["names re-identified"] = (len(names_hit) / len(names_seen), len(names_seen))
    attack["(field, record) pairs guessed right"] = (records_hit / records_total, records_total)
    combos: dict[str, Counter[frozenset[tuple[str, str]]]] = defaultdict(Counter)
    for (field, _), tokens in per_record.items():
        combos[field][frozenset(tokens)] += 1
    measured = {}
    for field in NameField:
        counter = combos.get(field.value)
        if not counter:
            continue
        total = sum(counter.values())
        alone = sum(count for count in counter.values() if count == 1)
        measured[field.value] = {
            "records per combination of its tokens (mean)": total / len(counter),
            "records alone in their combination": alone / total,
        }
    return {
        "plan": {
            "planned cases": settings.planned_case_count,
            "bits per index": {kind.value: bits for kind, bits in budget.bits.items()},
            "expected records per combination (R / 2^bits)": budget.expected_records_per_value,
            "at this set's size": len(children) / 2**budget.total_bits,
        },
        "measured": measured,
        "frequency attack": attack,
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))
    return ordered[index]


def costs(outcomes: list[Outcome]) -> dict[str, float]:
    decrypted = [float(o.decrypted) for o in outcomes]
    latency = [o.seconds * 1000 for o in outcomes]
    cpu = [o.cpu_seconds * 1000 for o in outcomes]
    return {
        "cpu p50 ms": percentile(cpu, 0.5),
        "cpu p95 ms": percentile(cpu, 0.95),
        "decrypted p50": statistics.median(decrypted),
        "decrypted max": max(decrypted),
        "latency p50 ms": percentile(latency, 0.5),
        "latency p95 ms": percentile(latency, 0.95),
    }
