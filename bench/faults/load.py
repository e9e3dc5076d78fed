"""The load generator: caseworkers doing intakes, updates and reads against Haven instances,
recording every acknowledged write (the ledger the checker compares the database with).

Bounded in count and time: each worker stops at its deadline or after `max_requests`; every
request has a timeout. Traffic goes only to the given loopback instances.

Writes are retried the way a careful client would: an intake whose answer was lost (a 5xx, a
reset connection, a timeout) is sent again later with the same Idempotency-Key; an update whose
answer was lost is resolved by reading the case (did our change land?). So at the end every
write is either acknowledged or known not to have happened.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

API = "/api/v1"
REQUEST_TIMEOUT = 20.0


@dataclass
class AckedCase:
    case_id: str
    key: str
    owner: int
    given_name: str
    version: int
    narrative: str
    updates: int = 0
    """Updates acknowledged (each one must have its audit row)."""
    attempted: list[str] = field(default_factory=list)
    """Narratives sent in updates whose answer was lost (one of them may have landed)."""
    uncertain: bool = False


@dataclass
class Sample:
    at: float
    took: float
    status: int
    """HTTP status; 0 for a failed connection or a timeout."""
    write: bool
    acked: bool
    instance: str


class Ledger:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cases: dict[str, AckedCase] = {}
        self.pending: dict[str, tuple[int, dict[str, Any]]] = {}
        """Intakes sent but not acknowledged: key -> (owner, body)."""
        self.samples: list[Sample] = []
        self.acked_writes = 0
        self.read_errors = 0
        """Reads of an acknowledged case that did not answer 200 with its content (not 5xx)."""

    def record(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)
            if sample.acked:
                self.acked_writes += 1


def intake_body(given: str, narrative: str) -> dict[str, Any]:
    return {
        "child": {
            "given_name": given,
            "family_name": "Fault",
            "sex": "female",
            "date_of_birth": "2015-06-01",
        },
        "location": {"governorate": "Nineveh", "district": "Sinjar"},
        "caregivers": [],
        "separation_status": "separated",
        "protection_concerns": ["psychosocial_distress"],
        "risk_level": "medium",
        "narrative": narrative,
    }


class Worker:
    def __init__(
        self,
        ledger: Ledger,
        number: int,
        tag: str,
        headers: dict[str, str],
        instance: tuple[str, str],
        rng: random.Random,
    ) -> None:
        self.ledger = ledger
        self.number = number
        self.tag = tag
        self.headers = headers
        self.instance_name, base_url = instance
        self.http = httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT)
        self.rng = rng
        self.sent = 0
        self.mine: list[str] = []

    # --- one request -----------------------------------------------------------------------

    def _send(self, method: str, path: str, *, write: bool, **kwargs: Any) -> httpx.Response | None:
        started = time.monotonic()
        self.sent += 1
        try:
            response = self.http.request(
                method, path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs
            )
        except httpx.HTTPError:
            self.ledger.record(
                Sample(started, time.monotonic() - started, 0, write, False, self.instance_name)
            )
            # A reset connection is not reused.
            self.http.close()
            self.http = httpx.Client(base_url=str(self.http.base_url), timeout=REQUEST_TIMEOUT)
            return None
        acked = write and response.status_code in (200, 201)
        self.ledger.record(
            Sample(
                started,
                time.monotonic() - started,
                response.status_code,
                write,
                acked,
                self.instance_name,
            )
        )
        return response

    # --- operations ------------------------------------------------------------------------

    def intake(self, key: str | None = None) -> None:
        ledger = self.ledger
        if key is None:
            key = f"{self.tag}-{self.number}-{self.sent}"
            given = f"F{self.tag}w{self.number}n{self.sent}"
            body = intake_body(given, f"N0-{given}")
            with ledger.lock:
                ledger.pending[key] = (self.number, body)
        else:
            with ledger.lock:
                _, body = ledger.pending[key]
        response = self._send(
            "POST", f"{API}/cases", write=True, json=body, headers={"Idempotency-Key": key}
        )
        if response is None or response.status_code not in (200, 201):
            return
        data = response.json()
        with ledger.lock:
            ledger.pending.pop(key, None)
            if data["id"] not in ledger.cases:
                ledger.cases[data["id"]] = AckedCase(
                    case_id=data["id"],
                    key=key,
                    owner=self.number,
                    given_name=body["child"]["given_name"],
                    version=int(data["version"]),
                    narrative=body["narrative"],
                )
                self.mine.append(data["id"])

    def update(self, case: AckedCase) -> None:
        if case.uncertain:
            self.resolve(case)
            return
        narrative = f"N{case.version + 1}-{case.given_name}-{self.rng.randrange(10**6)}"
        response = self._send(
            "PATCH",
            f"{API}/cases/{case.case_id}",
            write=True,
            json={"narrative": narrative},
            headers={"If-Match": f'"{case.version}"'},
        )
        if response is not None and response.status_code == 200:
            with self.ledger.lock:
                case.version = int(response.json()["version"])
                case.narrative = narrative
                case.updates += 1
            return
        if response is not None and response.status_code in (409, 412, 428):
            self.resolve(case)
            return
        with self.ledger.lock:  # the answer was lost: it may or may not have landed
            case.attempted.append(narrative)
            case.uncertain = True

    def resolve(self, case: AckedCase) -> None:
        """Read the case to learn whether a lost update landed."""
        response = self._send("GET", f"{API}/cases/{case.case_id}", write=False)
        if response is None or response.status_code >= 500:
            return
        if response.status_code != 200:
            with self.ledger.lock:
                self.ledger.read_errors += 1
            return
        data = response.json()
        with self.ledger.lock:
            if int(data["version"]) > case.version and data.get("narrative") in case.attempted:
                case.updates += 1  # it landed: acknowledged now, by reading it back
                self.ledger.acked_writes += 1
            case.version = int(data["version"])
            case.narrative = data.get("narrative")
            case.attempted.clear()
            case.uncertain = False

    def read(self, case: AckedCase) -> None:
        response = self._send("GET", f"{API}/cases/{case.case_id}", write=False)
        if (
            response is not None
            and response.status_code < 500
            and (
                response.status_code != 200
                or response.json()["child"]["given_name"] != case.given_name
            )
        ):
            with self.ledger.lock:
                self.ledger.read_errors += 1

    # --- the loop --------------------------------------------------------------------------

    def step(self) -> None:
        ledger = self.ledger
        with ledger.lock:
            retry = [k for k, (owner, _) in ledger.pending.items() if owner == self.number]
            cases = [ledger.cases[c] for c in self.mine]
        roll = self.rng.random()
        if retry and roll < 0.5:
            self.intake(retry[0])
        elif not cases or roll < 0.6:
            self.intake()
        elif roll < 0.9:
            self.update(self.rng.choice(cases))
        else:
            self.read(self.rng.choice(cases))

    def run(self, until: float, max_requests: int) -> None:
        while time.monotonic() < until and self.sent < max_requests:
            self.step()

    def settle(self, until: float) -> None:
        """After the fault: retry every unacknowledged intake, resolve every lost update."""
        while time.monotonic() < until:
            with self.ledger.lock:
                retry = [k for k, (o, _) in self.ledger.pending.items() if o == self.number]
                unsure = [self.ledger.cases[c] for c in self.mine if self.ledger.cases[c].uncertain]
            if not retry and not unsure:
                return
            for key in retry:
                self.intake(key)
            for case in unsure:
                self.resolve(case)
            time.sleep(0.2)


class Load:
    """`workers` threads spread over the instances, started together."""

    def __init__(
        self,
        ledger: Ledger,
        tag: str,
        tokens: list[dict[str, str]],
        instances: list[tuple[str, str]],
        seed: int,
    ) -> None:
        self.workers = [
            Worker(ledger, n, tag, headers, instances[n % len(instances)], random.Random(seed + n))
            for n, headers in enumerate(tokens)
        ]
        self.threads: list[threading.Thread] = []

    def start(self, seconds: float, max_requests: int = 5000) -> None:
        until = time.monotonic() + seconds
        self.threads = [
            threading.Thread(target=w.run, args=(until, max_requests), daemon=True)
            for w in self.workers
        ]
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=REQUEST_TIMEOUT * 3 + 120)

    def settle(self, seconds: float = 60) -> None:
        until = time.monotonic() + seconds
        threads = [
            threading.Thread(target=w.settle, args=(until,), daemon=True) for w in self.workers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + REQUEST_TIMEOUT * 2)

    def close(self) -> None:
        for worker in self.workers:
            worker.http.close()
