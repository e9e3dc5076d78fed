"""The PKCS#11 keyring end to end (SoftHSM): created by `haven migrate` inside the token, proven
against the database, shared by two API processes, and a populated deployment moved from the
key file to the token with every case readable throughout."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api.app import create_app
from models.keys import DataKey
from services.cli import app as cli
from services.config import Settings
from services.crypto import (
    KeyringError,
    KeyringMismatch,
    create_data_key,
    init_keyring,
    load_data_keys,
    load_keyring,
)
from services.keys.handover import migrate_to_pkcs11
from services.policy import Role
from services.runtime import Runtime, build_runtime
from tests.api.test_cases_helpers import Actor, body, create
from tests.conftest import make_settings
from tests.databases import empty_database, migrated_database
from tests.factories import API, make_agency, make_user, user_headers
from tests.keyrings import make_keyring, pkcs11_settings, remove_token_keyring, settings_env

runner = CliRunner()
HAVEN = str(Path(sys.executable).with_name("haven"))


@contextmanager
def token_settings(url: str, folder: Path) -> Iterator[Settings]:
    settings = pkcs11_settings(make_settings(url, folder))
    try:
        yield settings
    finally:
        remove_token_keyring(settings)


def _env(settings: Settings) -> dict[str, str]:
    return {
        **settings_env(settings),
        "HAVEN_DATABASE_URL": settings.database_url,
        "HAVEN_AUDIT_CHECKPOINT_FILE": str(settings.audit_checkpoint_file),
    }


def _caseworker(runtime: Runtime) -> Actor:
    with runtime.session_factory() as session, session.begin():
        user = make_user(session, make_agency(session), Role.CASEWORKER)
        headers = user_headers(session, user, runtime.settings)
    return Actor(user, headers)


# --- created only by haven migrate, inside the token ------------------------------------------


def test_migrate_generates_the_keyring_inside_the_token_and_nothing_on_disk(
    tmp_path: Path,
) -> None:
    with empty_database() as url, token_settings(url, tmp_path / "var") as settings:
        first = runner.invoke(cli, ["migrate"], env=_env(settings))
        assert first.exit_code == 0, first.output
        assert not (tmp_path / "var" / "keyring.json").exists()
        keyring = load_keyring(settings)
        assert keyring.kek_versions() == [1]
        again = runner.invoke(cli, ["migrate"], env=_env(settings))
        assert again.exit_code == 0, again.output
        assert load_keyring(settings).kek_versions() == [1]
        assert load_keyring(settings).signing_public_key() == keyring.signing_public_key()
        status = runner.invoke(cli, ["keys", "status"], env=_env(settings))
        assert status.exit_code == 0, status.output
        assert f"PKCS#11 token {settings.pkcs11_token!r}" in status.output


def test_migrate_refuses_an_empty_token_for_a_database_holding_data(tmp_path: Path) -> None:
    with migrated_database() as url:
        file_settings = make_settings(url, tmp_path / "file")
        file_keyring = init_keyring(file_settings)
        runtime = build_runtime(file_settings)
        with runtime.session_factory() as session, session.begin():
            create_data_key(session, file_keyring)
        runtime.engine.dispose()
        with token_settings(url, tmp_path / "token") as settings:
            result = runner.invoke(cli, ["migrate"], env=_env(settings))
            assert result.exit_code == 1
            assert "holds 1 data key(s)" in result.output
            with pytest.raises(KeyringError, match="holds no Haven keys"):
                load_keyring(settings)


def test_a_token_keyring_that_did_not_write_the_data_is_refused(tmp_path: Path) -> None:
    with (
        migrated_database() as url,
        token_settings(url, tmp_path / "a") as real,
        token_settings(url, tmp_path / "b") as other,
    ):
        make_keyring(real)
        make_keyring(other)
        runtime = build_runtime(real)
        with runtime.session_factory() as session, session.begin():
            create_data_key(session, runtime.keyring)
        runtime.engine.dispose()
        with pytest.raises(KeyringMismatch, match="KEK version 1"):
            build_runtime(other)
        build_runtime(real).engine.dispose()


# --- two API processes, one token --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(url: str, method: str = "GET", data: Any = None, headers: Any = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
        url,
        method=method,
        data=None if data is None else json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return answer.status, json.loads(answer.read())


def _wait_ready(port: int, process: subprocess.Popen[str]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            pytest.fail(f"server exited: {process.communicate()[1][-2000:]}")
        try:
            if _call(f"http://127.0.0.1:{port}/ready")[0] == 200:
                return
        except (OSError, urllib.error.HTTPError):
            time.sleep(0.1)
    pytest.fail("server did not become ready")


@pytest.mark.slow
def test_a_case_written_through_one_api_process_is_read_through_another(tmp_path: Path) -> None:
    with migrated_database() as url, token_settings(url, tmp_path / "var") as settings:
        make_keyring(settings)
        runtime = build_runtime(settings)
        actor = _caseworker(runtime)
        runtime.engine.dispose()
        ports = [_free_port(), _free_port()]
        servers = [
            subprocess.Popen(
                [HAVEN, "serve", "--port", str(port)],
                env={**os.environ, **_env(settings)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            for port in ports
        ]
        try:
            for port, server in zip(ports, servers, strict=True):
                _wait_ready(port, server)
            one, two = (f"http://127.0.0.1:{port}{API}" for port in ports)
            status, created = _call(f"{one}/cases", "POST", body("Amal", "Hassan"), actor.headers)
            assert status == 201
            status, read = _call(f"{two}/cases/{created['id']}", headers=actor.headers)
            assert status == 200
            assert read["child"]["given_name"] == "Amal"
            assert read["child"]["family_name"] == "Hassan"
            status, back = _call(f"{two}/cases", "POST", body("Rêzan", "Şêxo"), actor.headers)
            assert status == 201
            status, read = _call(f"{one}/cases/{back['id']}", headers=actor.headers)
            assert read["child"]["given_name"] == "Rêzan"
        finally:
            for server in servers:
                os.killpg(server.pid, signal.SIGTERM)
            for server in servers:
                server.communicate(timeout=30)


# --- moving a populated deployment from the key file to the token ------------------------------


@pytest.mark.slow
def test_migrate_to_pkcs11_moves_every_key_with_every_case_readable_throughout(
    tmp_path: Path,
) -> None:
    with migrated_database() as url, token_settings(url, tmp_path / "var") as moving:
        # a deployment on the key file, with cases
        file_settings = make_settings(url, tmp_path / "var")
        init_keyring(file_settings)
        before = build_runtime(file_settings)
        actor = _caseworker(before)
        with TestClient(create_app(runtime=before)) as client:
            cases = {create(client, actor, body(f"Child{n}", "Before"))["id"] for n in range(30)}
        before.engine.dispose()

        # servers restarted with the token's settings and the key file beside it
        server = build_runtime(moving)
        failures: list[str] = []
        reads = 0
        stop = threading.Event()

        def read_everything() -> None:
            nonlocal reads
            with TestClient(create_app(runtime=server)) as reader:
                while not stop.is_set():
                    for case_id in list(cases):
                        got = reader.get(f"{API}/cases/{case_id}", headers=actor.headers)
                        reads += 1
                        if got.status_code != 200:
                            failures.append(f"{case_id}: {got.status_code} {got.text[:200]}")

        thread = threading.Thread(target=read_everything)
        thread.start()
        batches = 0
        try:
            with TestClient(create_app(runtime=server)) as client:
                cases.add(create(client, actor, body("During", "Before"))["id"])

                def every_case_still_reads(_: int) -> None:
                    nonlocal batches
                    batches += 1
                    for case_id in cases:
                        got = client.get(f"{API}/cases/{case_id}", headers=actor.headers)
                        assert got.status_code == 200, got.text

                # the command's work, with every case read back after each committed batch
                mover = build_runtime(moving)
                result = migrate_to_pkcs11(
                    mover.session_factory,
                    mover.keyring,
                    batch_size=7,
                    on_batch=every_case_still_reads,
                )
                mover.engine.dispose()
                cases.add(create(client, actor, body("During", "After"))["id"])
                seen = reads
                for _ in range(600):  # the reader goes round once more after the move
                    if reads >= seen + len(cases) or failures:
                        break
                    time.sleep(0.1)
        finally:
            stop.set()
            thread.join(120)
        assert not failures, failures[:5]
        assert reads >= len(cases)
        assert result.prepared and result.token_version == 2 and result.retired == [1]
        assert result.rewrapped == 31 and batches == 5  # 30 cases + 1 written during the move

        with server.session_factory() as session:
            assert set(session.scalars(select(DataKey.kek_version))) == {2}
        content = json.loads(file_settings.key_file.read_text())
        assert content["keks"] == [] and content["handed_over_to"] == "pkcs11"
        with pytest.raises(KeyringError, match="HAVEN_KEYRING=pkcs11"):
            load_keyring(file_settings)
        again = runner.invoke(cli, ["keys", "migrate-to-pkcs11"], env=_env(moving))
        assert again.exit_code == 0, again.output
        assert "resuming the move to the token's KEK version 2" in again.output
        assert "0 data key(s) to re-wrap" in again.output
        server.engine.dispose()

        # afterwards the token alone: no key file at all
        alone = moving.model_copy(update={"key_file": tmp_path / "gone" / "keyring.json"})
        after = build_runtime(alone)
        with TestClient(create_app(runtime=after)) as client:
            for case_id in cases:
                got = client.get(f"{API}/cases/{case_id}", headers=actor.headers)
                assert got.status_code == 200, got.text
            create(client, actor, body("Token", "Only"))
        after.engine.dispose()


def test_the_command_moves_a_populated_database_and_says_what_it_did(tmp_path: Path) -> None:
    with migrated_database() as url, token_settings(url, tmp_path / "var") as moving:
        file_settings = make_settings(url, tmp_path / "var")
        file_keyring = init_keyring(file_settings)
        file_keyring.add_kek_version()  # a file that was rotated once: versions 1 and 2
        runtime = build_runtime(file_settings)
        with runtime.session_factory() as session, session.begin():
            keys = dict(create_data_key(session, runtime.keyring) for _ in range(12))
        runtime.engine.dispose()
        moved = runner.invoke(
            cli, ["keys", "migrate-to-pkcs11", "--batch-size", "5"], env=_env(moving)
        )
        assert moved.exit_code == 0, moved.output
        assert "token prepared: KEK version 3 generated in it" in moved.output
        assert "12 data key(s) to re-wrap under the token" in moved.output
        assert "re-wrapped 12 data key(s) in 3 batch(es)" in moved.output
        assert "retired KEK version(s): 1, 2" in moved.output
        alone = build_runtime(moving.model_copy(update={"key_file": tmp_path / "gone.json"}))
        with alone.session_factory() as session:
            assert load_data_keys(session, alone.keyring, keys) == keys
        alone.engine.dispose()
