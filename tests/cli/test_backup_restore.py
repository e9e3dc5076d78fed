"""The backup/restore drill, on the backend under test (SQLite online backup, or pg_dump -Fc and
pg_restore): `haven backup` writes the snapshot, the checkpoints and the age-escrowed keyring;
`haven restore` brings them back into an empty database and proves them usable."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from api.app import create_app
from models.keys import DataKey
from services.backup import check_restored
from services.backup.archive import KEYRING_ESCROW, MANIFEST
from services.cli import app
from services.config import Settings
from services.policy import Role
from services.runtime import Runtime, build_runtime
from tests.databases import empty_database
from tests.factories import API, make_agency, make_user, user_headers

runner = CliRunner()
ARABIC_NAME = "زينب"
NARRATIVE = "MKdrill narrative that must only exist encrypted"


@dataclass
class Installation:
    url: str
    folder: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "HAVEN_DATABASE_URL": self.url,
            "HAVEN_KEY_FILE": str(self.folder / "keyring.json"),
            "HAVEN_AUDIT_CHECKPOINT_FILE": str(self.folder / "checkpoints.jsonl"),
        }

    def settings(self) -> Settings:
        return Settings(
            database_url=self.url,
            key_file=self.folder / "keyring.json",
            audit_checkpoint_file=self.folder / "checkpoints.jsonl",
        )

    def runtime(self) -> Runtime:
        return build_runtime(self.settings())


@dataclass
class Drill:
    source: Installation
    target: Installation
    backup: Path
    identity_file: Path
    recipient: str
    case_id: str
    headers: dict[str, str]


@pytest.fixture
def drill(tmp_path: Path) -> Iterator[Drill]:
    identity = pyrage.x25519.Identity.generate()
    identity_file = tmp_path / "recovery-key.txt"
    identity_file.write_text(f"# created: test\n{identity}\n", encoding="ascii")
    with empty_database() as source_url, empty_database() as target_url:
        source = Installation(source_url, tmp_path / "source")
        target = Installation(target_url, tmp_path / "target")
        assert runner.invoke(app, ["migrate"], env=source.env).exit_code == 0
        runtime = source.runtime()
        try:
            with runtime.session_factory() as session, session.begin():
                caseworker = make_user(session, make_agency(session), Role.CASEWORKER)
                headers = user_headers(session, caseworker, runtime.settings)
            with TestClient(create_app(runtime=runtime)) as http:
                created = http.post(
                    f"{API}/cases",
                    headers=headers,
                    json={
                        "child": {
                            "given_name": ARABIC_NAME,
                            "family_name": "Haddad",
                            "sex": "female",
                        },
                        "location": {"governorate": "Nineveh", "district": "Mosul"},
                        "caregivers": [],
                        "separation_status": "separated",
                        "protection_concerns": [],
                        "risk_level": "high",
                        "narrative": NARRATIVE,
                    },
                )
                assert created.status_code == 201, created.text
        finally:
            runtime.engine.dispose()
        yield Drill(
            source,
            target,
            tmp_path / "backup-1",
            identity_file,
            str(identity.to_public()),
            created.json()["id"],
            headers,
        )


def _backup(drill: Drill) -> None:
    env = {**drill.source.env, "HAVEN_ESCROW_RECIPIENT": drill.recipient}
    done = runner.invoke(app, ["backup", str(drill.backup)], env=env)
    assert done.exit_code == 0, done.output


def test_the_drill_restores_a_backup_that_verifies_unwraps_and_decrypts(drill: Drill) -> None:
    _backup(drill)
    manifest = json.loads((drill.backup / MANIFEST).read_text())
    assert manifest["escrow_recipient"] == drill.recipient
    assert stat.S_IMODE(drill.backup.stat().st_mode) == 0o700
    for name in manifest["files"]:
        assert stat.S_IMODE((drill.backup / name).stat().st_mode) == 0o600, name

    # The keyring is in the backup only encrypted: none of its secrets appear in any file.
    key_file = json.loads((drill.source.folder / "keyring.json").read_text())
    secrets = [v for v in _strings(key_file) if len(v) >= 40]
    assert secrets, "the key file holds base64 secrets"
    for path in drill.backup.iterdir():
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{path.name} holds keyring material"
        assert NARRATIVE.encode() not in data and ARABIC_NAME.encode() not in data
    assert (drill.backup / KEYRING_ESCROW).read_bytes().startswith(b"age-encryption.org/v1")

    restored = runner.invoke(
        app,
        ["restore", str(drill.backup), "--identity", str(drill.identity_file)],
        env=drill.target.env,
    )
    assert restored.exit_code == 0, restored.output
    assert "audit chain verifies" in restored.output
    assert "data keys unwrapped: 1/1" in restored.output
    assert "cases decrypted: 1/1" in restored.output
    assert stat.S_IMODE((drill.target.folder / "keyring.json").stat().st_mode) == 0o600

    # The restored installation serves the case, Arabic name intact, to the same caseworker.
    runtime = drill.target.runtime()
    try:
        with TestClient(create_app(runtime=runtime)) as http:
            case = http.get(f"{API}/cases/{drill.case_id}", headers=drill.headers)
        assert case.status_code == 200, case.text
        assert case.json()["child"]["given_name"] == ARABIC_NAME
    finally:
        runtime.engine.dispose()


def test_the_check_fails_when_a_data_key_does_not_unwrap(drill: Drill) -> None:
    _backup(drill)
    restored = runner.invoke(
        app,
        ["restore", str(drill.backup), "--identity", str(drill.identity_file)],
        env=drill.target.env,
    )
    assert restored.exit_code == 0, restored.output
    runtime = drill.target.runtime()  # before the damage: start-up itself probes a data key
    try:
        with runtime.engine.begin() as connection:
            blob = connection.execute(select(DataKey.wrapped_key)).scalar_one()
            assert blob is not None
            damaged = blob[:-1] + bytes([blob[-1] ^ 1])
            connection.execute(update(DataKey).values(wrapped_key=damaged))
        report = check_restored(runtime.settings, runtime.engine, runtime.keyring)
    finally:
        runtime.engine.dispose()
    assert report.chain_valid
    assert (report.data_keys, report.data_keys_failed) == (1, 1)
    assert report.cases_failed == 1 and not report.ok


def test_backup_refuses_without_a_recipient_and_writes_nothing(drill: Drill) -> None:
    done = runner.invoke(app, ["backup", str(drill.backup)], env=drill.source.env)
    assert done.exit_code == 2
    assert "HAVEN_ESCROW_RECIPIENT" in done.output
    assert not drill.backup.exists()
    bad = {**drill.source.env, "HAVEN_ESCROW_RECIPIENT": "AGE-SECRET-KEY-1NOTAPUBLICKEY"}
    assert runner.invoke(app, ["backup", str(drill.backup)], env=bad).exit_code == 2


def test_restore_refuses_a_wrong_identity_a_damaged_backup_or_a_used_database(
    drill: Drill, tmp_path: Path
) -> None:
    _backup(drill)
    args = ["restore", str(drill.backup), "--identity"]
    other = tmp_path / "other-key.txt"
    other.write_text(f"{pyrage.x25519.Identity.generate()}\n", encoding="ascii")
    wrong = runner.invoke(app, [*args, str(other)], env=drill.target.env)
    assert wrong.exit_code == 1 and "does not open with this identity" in wrong.output
    assert not (drill.target.folder / "keyring.json").exists()

    # Into the source itself (not empty, key file present): refused, nothing overwritten.
    used = runner.invoke(app, [*args, str(drill.identity_file)], env=drill.source.env)
    assert used.exit_code == 1 and "restore refused" in used.output

    escrow = drill.backup / KEYRING_ESCROW
    escrow.write_bytes(escrow.read_bytes() + b"x")
    damaged = runner.invoke(app, [*args, str(drill.identity_file)], env=drill.target.env)
    assert damaged.exit_code == 1 and "checksum" in damaged.output


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
