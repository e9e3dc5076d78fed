"""What the PKCS#11 keyring costs beside the key file: intake and read, per case, in process.

Both keyrings run the same Haven code against the same PostgreSQL database (a database of its
own, `<haven bench db>_keyring`): intake is `create_data_key` (a fresh data key wrapped by the
keyring, its row inserted) plus a 1 KB field sealed under it, committed; a read is
`load_data_key` (the row read again, as every request does, so an erased case fails at once) plus
that field opened. Reads are measured twice for the token: with the per-process cache of
unwrapped data keys cold (every read asks the token, as for a case nobody opened in the last
minute) and warm. The token is SoftHSM, a software token on this machine: a network HSM adds its
round trip to each cold read and each intake.
"""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.config import database_url
from bench.dbutil import recreate_database
from models.db import make_engine, make_session_factory
from services.config import Settings
from services.crypto import (
    Keyring,
    create_data_key,
    decrypt_field,
    encrypt_field,
    load_data_key,
    load_keyring,
)
from services.crypto.setup import create_keyring
from services.database import migrate

SETUP_SCRIPT = Path(__file__).resolve().parent.parent / "tests" / "pkcs11" / "setup-softhsm.sh"
PLAINTEXT = os.urandom(512).hex().encode()  # 1 KB


def softhsm_settings(base: Settings) -> Settings | None:
    """`base` with a keyring in a SoftHSM token of its own (None when softhsm2 is missing)."""
    if shutil.which("softhsm2-util") is None:
        return None
    folder = tempfile.mkdtemp(prefix="haven-bench-softhsm-")
    done = subprocess.run(
        ["bash", str(SETUP_SCRIPT), folder], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return None
    env = {}
    for line in done.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = shlex.split(value)[0]
    os.environ["SOFTHSM2_CONF"] = env["SOFTHSM2_CONF"]  # before the library is loaded
    return base.model_copy(
        update={
            "keyring": "pkcs11",
            "pkcs11_module": Path(env["HAVEN_TEST_PKCS11_MODULE"]),
            "pkcs11_token": env["HAVEN_TEST_PKCS11_TOKEN"],
            "pkcs11_pin": SecretStr(env["HAVEN_TEST_PKCS11_PIN"]),
        }
    )


def _per_case(work: Callable[[], None], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        work()
    return (time.perf_counter() - started) / count * 1e6


class _Side:
    """One keyring on the shared database, and what it wrote."""

    def __init__(self, settings: Settings) -> None:
        create_keyring(settings)
        self.keyring: Keyring = load_keyring(settings)
        self.engine = make_engine(settings.database_url, pool_size=2, max_overflow=0)
        self.factory = make_session_factory(self.engine)
        self.written: list[tuple[uuid.UUID, uuid.UUID, bytes]] = []
        self.out: dict[str, list[float]] = {"intake": [], "read_cold": [], "read_warm": []}

    def intake(self) -> None:
        with self.factory() as session, session.begin():
            key_id, dek = create_data_key(session, self.keyring)
            record = uuid.uuid4()
            blob = encrypt_field(dek, PLAINTEXT, table="cases", record_id=record, field="bench")
            self.written.append((key_id, record, blob))

    def read(self, cases: int) -> float:
        started = time.perf_counter()
        with self.factory() as session:
            for key_id, record, blob in self.written[-cases:]:
                dek = load_data_key(session, self.keyring, key_id)
                decrypt_field(dek, blob, table="cases", record_id=record, field="bench")
        return (time.perf_counter() - started) / cases * 1e6

    def round(self, cases: int) -> None:
        self.out["intake"].append(_per_case(self.intake, cases))
        cache = getattr(self.keyring, "cache", None)
        if cache is not None:
            cache.clear()
        self.out["read_cold"].append(self.read(cases))
        self.out["read_warm"].append(self.read(cases))


def keyring_backends(haven_db: str, cases: int = 300, rounds: int = 5) -> dict[str, Any]:
    name = f"{haven_db}_keyring"
    recreate_database(name)
    url = database_url(name).replace("postgresql://", "postgresql+psycopg://")
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    folder = Path(tempfile.mkdtemp(prefix="haven-bench-keyring-"))
    file_settings = Settings(
        database_url=url,
        key_file=folder / "keyring.json",
        audit_checkpoint_file=folder / "checkpoints.jsonl",
    )
    token_settings = softhsm_settings(
        file_settings.model_copy(update={"key_file": folder / "absent.json"})
    )
    result: dict[str, Any] = {"cases": cases, "rounds": rounds}
    sides = {"file": _Side(file_settings)}
    if token_settings is None:
        result["pkcs11"] = None
        result["note"] = "softhsm2 is not installed: PKCS#11 keyring not measured"
    else:
        sides["pkcs11"] = _Side(token_settings)
    try:
        for side in sides.values():
            _per_case(side.intake, 20)  # warm up
        for _ in range(rounds):  # interleaved, so both sides see the same machine load
            for side in sides.values():
                side.round(cases)
    finally:
        for side in sides.values():
            side.engine.dispose()
    for name, side in sides.items():
        result[name] = side.out
    return result


def rows(result: dict[str, Any], fmt: Callable[[float], str]) -> list[dict[str, Any]]:
    """Table rows: the token's figure in the Haven column, the key file's in the baseline one."""
    token, file = result.get("pkcs11"), result["file"]
    if not token:
        return []
    out = []
    for key, label, target, limit in (
        (
            "intake",
            "keyring pkcs11 vs file: intake µs/case (wrap in token + insert)",
            "≤ 3.0 x",
            3.0,
        ),
        ("read_warm", "keyring pkcs11 vs file: read µs/case, cache warm", "≤ 1.5 x", 1.5),
        ("read_cold", "keyring pkcs11 vs file: read µs/case, cache cold (token unwrap)", "—", None),
    ):
        h, b = statistics.median(token[key]), statistics.median(file[key])
        out.append(
            {
                "benchmark": label,
                "haven": fmt(h),
                "baseline": fmt(b),
                "ratio": h / b,
                "target": target,
                "pass": None if limit is None else h / b <= limit,
            }
        )
    return out
