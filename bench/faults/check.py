"""The checker: after an experiment, compare the database and the API with the ledger.

- lost: an acknowledged case that is missing from the database or the API, does not decrypt
  (the API answers with its content), or is older than the last acknowledged version, or holds
  other content than the last acknowledged (or a later attempted) write;
- phantom: a case in the database that no acknowledged intake accounts for (a write the client
  was never told of, or a duplicate of a retried intake);
- unaudited: an acknowledged write without its audit event (`case.create` / `case.update`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, text

from bench.faults.load import API, Ledger


@dataclass
class Findings:
    lost: int
    phantom: int
    unaudited: int
    pending: int
    """Intakes whose outcome stayed unknown after settling (should be 0)."""
    notes: list[str]


def check(
    ledger: Ledger,
    database_url: str,
    base_url: str,
    tokens: list[dict[str, str]],
) -> Findings:
    notes: list[str] = []
    lost = 0
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for case in ledger.cases.values():
            response = http.get(f"{API}/cases/{case.case_id}", headers=tokens[case.owner])
            if response.status_code != 200:
                lost += 1
                notes.append(f"case {case.case_id}: API answered {response.status_code}")
                continue
            data = response.json()
            version = int(data["version"])
            if data["child"]["given_name"] != case.given_name:
                lost += 1
                notes.append(f"case {case.case_id}: other content than acknowledged")
            elif version < case.version:
                lost += 1
                notes.append(f"case {case.case_id}: version {version} < acked {case.version}")
            elif version == case.version and data.get("narrative") != case.narrative:
                lost += 1
                notes.append(f"case {case.case_id}: the acknowledged update is not there")
            elif version > case.version and data.get("narrative") not in case.attempted:
                lost += 1
                notes.append(f"case {case.case_id}: a write nobody sent")

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            owners = {
                str(row.id): row.n
                for row in connection.execute(
                    text("SELECT owner_id AS id, count(*) AS n FROM cases GROUP BY owner_id")
                )
            }
            created = Counter(
                str(row[0])
                for row in connection.execute(
                    text(
                        "SELECT resource_id FROM audit_events "
                        "WHERE action = 'case.create' AND outcome = 'success'"
                    )
                )
            )
            updated = Counter(
                str(row[0])
                for row in connection.execute(
                    text(
                        "SELECT resource_id FROM audit_events "
                        "WHERE action = 'case.update' AND outcome = 'success'"
                    )
                )
            )
            in_db = {
                str(row[0]).replace("-", "")
                for row in connection.execute(text("SELECT id FROM cases"))
            }
    finally:
        engine.dispose()

    acked_ids = {case.case_id.replace("-", "") for case in ledger.cases.values()}
    missing = acked_ids - in_db
    if missing:
        notes.append(f"{len(missing)} acknowledged case(s) missing from the database")
    lost = max(lost, len(missing))
    phantom = sum(owners.values()) - len(acked_ids & in_db)
    if phantom:
        notes.append(f"{phantom} case(s) in the database that no acknowledged intake explains")

    unaudited = 0
    for case in ledger.cases.values():
        if created[case.case_id] < 1:
            unaudited += 1
            notes.append(f"case {case.case_id}: no case.create audit event")
        if updated[case.case_id] < case.updates:
            unaudited += 1
            notes.append(
                f"case {case.case_id}: {case.updates} updates, {updated[case.case_id]} audited"
            )
    return Findings(lost, phantom, unaudited, len(ledger.pending), notes)
