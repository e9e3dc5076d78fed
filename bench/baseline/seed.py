"""Seed the baseline's database with the same layout and payloads as Haven's (plaintext, COPY)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import psycopg
from sqlalchemy import create_engine

from bench.baseline.models import Base
from bench.config import database_url
from bench.dbutil import libpq_dsn
from bench.plan import AGENCIES, FIRST_ACTION_HOURS, PARTNERS, Layout, case_data


def seed_baseline(name: str, cases: int, log: callable = print) -> None:  # type: ignore[valid-type]
    started = time.perf_counter()
    engine = create_engine(database_url(name))
    Base.metadata.create_all(engine)
    engine.dispose()
    layout = Layout(cases)
    agencies = [uuid.uuid4() for _ in range(AGENCIES + PARTNERS)]
    caseworkers = [
        [uuid.uuid4() for _ in range(layout.caseworkers_per_agency)] for _ in range(AGENCIES)
    ]
    with psycopg.connect(libpq_dsn(name)) as conn:
        with conn.cursor() as cur:
            for index, agency_id in enumerate(agencies):
                cur.execute(
                    "INSERT INTO agencies (id, name) VALUES (%s, %s)",
                    (agency_id, f"Bench agency {index}"),
                )
            for a, workers in enumerate(caseworkers):
                for w, user_id in enumerate(workers):
                    cur.execute(
                        "INSERT INTO users (id, username, role, agency_id) VALUES (%s,%s,%s,%s)",
                        (user_id, f"cw-{a}-{w}", "caseworker", agencies[a]),
                    )
            case_cols = (
                "id, case_number, agency_id, owner_id, status, stage, risk_level, version, "
                "created_at, updated_at, next_action_due_at, given_name, family_name, sex, "
                "date_of_birth, estimated_age, governorate, district, address, caregivers, "
                "separation_status, protection_concerns, narrative"
            )
            notes: list[tuple[object, ...]] = []
            referrals: list[tuple[object, ...]] = []
            with cur.copy(f"COPY cases ({case_cols}) FROM STDIN") as copy:
                for i in range(cases):
                    data = case_data(i)
                    body = data.body
                    a, w = layout.owner_of(i)
                    case_id = uuid.uuid4()
                    created = layout.created_at(i)
                    due = created + timedelta(hours=FIRST_ACTION_HOURS[body["risk_level"]])
                    copy.write_row(
                        (
                            case_id,
                            f"BL-{created.year}-{i + 1:06d}",
                            agencies[a],
                            caseworkers[a][w],
                            "open",
                            "registration",
                            body["risk_level"],
                            1,
                            created,
                            created,
                            due,
                            body["child"]["given_name"],
                            body["child"]["family_name"],
                            body["child"]["sex"],
                            body["child"].get("date_of_birth"),
                            body["child"].get("estimated_age"),
                            body["location"]["governorate"],
                            body["location"]["district"],
                            body["location"].get("address"),
                            json.dumps(body["caregivers"]),
                            body["separation_status"],
                            json.dumps(body["protection_concerns"]),
                            body.get("narrative"),
                        )
                    )
                    for k, text in enumerate(data.notes):
                        at = created + timedelta(hours=k + 1)
                        notes.append((uuid.uuid4(), case_id, caseworkers[a][w], text, at))
                    if data.referral is not None:
                        r = data.referral
                        referrals.append(
                            (
                                uuid.uuid4(),
                                case_id,
                                agencies[AGENCIES + i % PARTNERS],
                                r["service_type"],
                                r["urgency"],
                                "sent",
                                r["reason"],
                                json.dumps(r["shared_fields"]),
                                r["consent"]["given_by"],
                                r["consent"].get("note"),
                                created + timedelta(days=1),
                            )
                        )
            with cur.copy(
                "COPY case_notes (id, case_id, author_id, text, created_at) FROM STDIN"
            ) as copy:
                for row in notes:
                    copy.write_row(row)
            with cur.copy(
                "COPY referrals (id, case_id, to_agency_id, service_type, urgency, status, reason, "
                "shared_fields, consent_given_by, consent_note, created_at) FROM STDIN"
            ) as copy:
                for row in referrals:
                    copy.write_row(row)
            cur.execute(f"SELECT setval('case_number_seq', {cases + 1})")
        conn.commit()
    with psycopg.connect(libpq_dsn(name), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    log(f"baseline: seeded {cases} cases in {time.perf_counter() - started:.1f}s")
