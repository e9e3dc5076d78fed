"""Through HTTP: while the keyring is not proven against the database every use of a key answers
503 with Retry-After, nothing is written, and the service heals by itself once the proof
succeeds. A key file swapped under a proven keyring is refused and the proven keys serve on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from models.cases import Case
from models.db import make_engine
from services.config import Settings
from services.crypto import custody, init_keyring
from services.crypto.custody import ProvenKeyring
from services.runtime import Runtime
from tests.api.test_cases_helpers import World, body, create, world
from tests.factories import API
from tests.keyrings import is_pkcs11

pytestmark = pytest.mark.skipif(
    is_pkcs11(), reason="the key file's custody; a token's is tested in tests/pkcs11"
)

__all__ = ["world"]


def _cases(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Case)) or 0)


def test_intake_is_503_until_the_keyring_is_proven_then_works(
    runtime: Runtime,
    world: World,
    db: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(custody, "RETRY_SECONDS", 0.0)
    down = tmp_path / "down.db"
    down.mkdir()  # the keyring's view of the database does not answer (SQLite cannot open it)
    proof_engine = make_engine(f"sqlite:///{down}")
    guarded = ProvenKeyring(runtime.keyring, proof_engine)
    app = create_app(runtime=Runtime(**{**runtime.__dict__, "keyring": guarded}))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            before = _cases(db)
            refused = client.post(f"{API}/cases", json=body(), headers=world.owner.headers)
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert int(refused.headers["Retry-After"]) > 0
            assert "Traceback" not in refused.text
            assert _cases(db) == before  # nothing half-written
            assert client.get("/ready").status_code == 503

            down.rmdir()  # the database answers again (and holds no data keys yet)
            created = create(client, world.owner, body())
            assert (
                client.get(f"{API}/cases/{created['id']}", headers=world.owner.headers).status_code
                == 200
            )
            assert client.get("/ready").status_code == 200
    finally:
        proof_engine.dispose()


def test_a_swapped_key_file_is_refused_and_the_proven_keys_serve_on(
    client: TestClient, world: World, runtime: Runtime, tmp_path: Path
) -> None:
    guarded = ProvenKeyring(runtime.keyring, make_engine(runtime.settings.database_url))
    client.app.state.runtime.keyring = guarded  # type: ignore[attr-defined]
    first = create(client, world.owner, body())
    path = runtime.settings.key_file
    original = path.read_bytes()
    other = init_keyring(Settings(key_file=tmp_path / "other" / "keyring.json"))
    swap = path.with_name(".swap")
    swap.write_bytes(other.path.read_bytes())
    swap.chmod(0o600)
    os.replace(swap, path)

    during = client.post(f"{API}/cases", json=body(), headers=world.owner.headers)
    assert during.status_code == 201, during.text  # wrapped under the proven keys
    for case_id in (first["id"], during.json()["id"]):
        read = client.get(f"{API}/cases/{case_id}", headers=world.owner.headers)
        assert read.status_code == 200
        assert read.json()["child"]["given_name"] == "Amal"

    swap.write_bytes(original)
    swap.chmod(0o600)
    os.replace(swap, path)
    create(client, world.owner, body())
