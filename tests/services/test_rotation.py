"""Key rotation: re-wraps every live data key, resumes after a crash, runs beside live readers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models.audit import AuditEvent
from models.keys import DataKey
from services.crypto import (
    Keyring,
    KeyringError,
    WrappedKey,
    create_data_key,
    destroy_data_key,
    load_data_key,
    load_data_keys,
    load_keyring,
)
from services.crypto.envelope import gcm_encrypt
from services.crypto.keyring import _wrap_aad
from services.keys.rotation import begin_rotation, key_status, retire_old_versions, rotate
from services.runtime import Runtime
from tests.keyrings import is_pkcs11, settings_env


def _make_keys(
    factory: sessionmaker[Session], keyring: Keyring, count: int
) -> dict[uuid.UUID, bytes]:
    with factory() as session, session.begin():
        return dict(create_data_key(session, keyring) for _ in range(count))


def _versions(factory: sessionmaker[Session]) -> dict[uuid.UUID, int]:
    with factory() as session:
        return {row.id: row.kek_version for row in session.scalars(select(DataKey))}


def _assert_all_unwrap(
    factory: sessionmaker[Session], keyring: Keyring, keys: dict[uuid.UUID, bytes]
) -> None:
    with factory() as session:
        assert load_data_keys(session, keyring, keys) == keys


def test_rotation_rewraps_every_live_key_and_leaves_destroyed_ones_destroyed(
    runtime: Runtime,
) -> None:
    factory, keyring = runtime.session_factory, runtime.keyring
    keys = _make_keys(factory, keyring, 23)
    erased = next(iter(keys))
    with factory() as session, session.begin():
        destroy_data_key(session, erased)
    del keys[erased]

    result = rotate(factory, keyring, batch_size=5)
    assert result.kek_version == 2 and result.added_version
    assert result.rewrapped == 22
    assert result.batches == 5
    assert keyring.kek_versions() == [1, 2]
    status = key_status(factory, keyring)
    assert status.live_by_version == {2: 22}
    assert status.destroyed == 1
    assert status.pending == 0
    _assert_all_unwrap(factory, keyring, keys)
    with factory() as session:
        with pytest.raises(KeyringError):
            load_data_key(session, keyring, erased)
        row = session.get(DataKey, erased)
        assert row is not None and row.wrapped_key is None
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("keys.%"))
        ).all()
        assert sorted(actions) == ["keys.kek_added", "keys.rotated"]

    # a second rotation adds version 3 and re-wraps everything again
    again = rotate(factory, keyring, batch_size=100)
    assert (again.kek_version, again.added_version, again.rewrapped) == (3, True, 22)
    assert set(_versions(factory).values()) == {1, 3}  # 1: only the destroyed row
    _assert_all_unwrap(factory, keyring, keys)


def test_rotation_interrupted_after_the_first_batch_resumes_to_completion(
    fresh_runtime: Runtime,
) -> None:
    factory, keyring = fresh_runtime.session_factory, fresh_runtime.keyring
    keys = _make_keys(factory, keyring, 25)

    class Killed(Exception):
        pass

    def crash(_done: int) -> None:
        raise Killed

    with pytest.raises(Killed):
        rotate(factory, keyring, batch_size=10, on_batch=crash)
    # the first batch committed; the rest still wrapped under version 1; all readable
    versions = _versions(factory)
    assert sorted(versions.values()).count(2) == 10
    assert sorted(versions.values()).count(1) == 15
    # the batches go in id order, so exactly the 10 smallest ids were done
    assert {k for k, v in versions.items() if v == 2} == set(sorted(versions)[:10])
    _assert_all_unwrap(factory, keyring, keys)
    assert key_status(factory, keyring).pending == 15

    # a new process (new keyring object) resumes instead of adding another version
    restarted = load_keyring(fresh_runtime.settings)
    result = rotate(factory, restarted, batch_size=10)
    assert (result.kek_version, result.added_version, result.rewrapped) == (2, False, 15)
    assert restarted.kek_versions() == [1, 2]
    assert set(_versions(factory).values()) == {2}
    _assert_all_unwrap(factory, restarted, keys)


def test_a_crash_right_after_adding_the_version_resumes_without_adding_another(
    runtime: Runtime,
) -> None:
    factory, keyring = runtime.session_factory, runtime.keyring
    keys = _make_keys(factory, keyring, 3)
    keyring.add_kek_version()  # step 1 done, then the process died
    plan = begin_rotation(factory, keyring)
    assert (plan.kek_version, plan.added_version, plan.pending) == (2, False, 3)
    result = rotate(factory, keyring)
    assert (result.kek_version, result.rewrapped) == (2, 3)
    assert keyring.kek_versions() == [1, 2]
    _assert_all_unwrap(factory, keyring, keys)


def test_rotation_with_no_data_keys_still_adds_a_version(runtime: Runtime) -> None:
    result = rotate(runtime.session_factory, runtime.keyring)
    assert (result.kek_version, result.added_version, result.rewrapped) == (2, True, 0)


def test_a_key_the_keyring_cannot_unwrap_stops_the_rotation_loudly(runtime: Runtime) -> None:
    factory, keyring = runtime.session_factory, runtime.keyring
    keys = _make_keys(factory, keyring, 2)
    broken = sorted(keys)[0]
    with factory() as session, session.begin():
        row = session.get(DataKey, broken)
        assert row is not None and row.wrapped_key is not None
        row.wrapped_key = row.wrapped_key[:-1] + bytes([row.wrapped_key[-1] ^ 1])
    with pytest.raises(KeyringError, match=str(broken)):
        rotate(factory, keyring, batch_size=10)
    # nothing of that batch was committed
    assert set(_versions(factory).values()) == {1}


def test_rotation_while_a_server_reads_and_writes_data_keys(fresh_runtime: Runtime) -> None:
    factory = fresh_runtime.session_factory
    rotator = fresh_runtime.keyring
    # a "server worker": its own keyring object, loaded before the rotation adds a version
    server = load_keyring(fresh_runtime.settings)
    keys = _make_keys(factory, server, 60)
    ids = list(keys)
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = 0
    created: dict[uuid.UUID, bytes] = {}

    def reader() -> None:
        nonlocal reads
        rng = random.Random(4)
        try:
            while not stop.is_set():
                key_id = rng.choice(ids)
                with factory() as session:
                    assert load_data_key(session, server, key_id) == keys[key_id]
                reads += 1
        except BaseException as error:  # noqa: BLE001  reported by the test's assertion
            errors.append(error)

    def writer() -> None:
        try:
            while not stop.is_set() and len(created) < 20:
                created.update(_make_keys(factory, server, 1))
        except BaseException as error:  # noqa: BLE001  reported by the test's assertion
            errors.append(error)

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    try:
        result = rotate(factory, rotator, batch_size=4)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert errors == []
    assert reads > 0
    assert result.kek_version == 2
    # keys a worker created during the run are readable; any it wrapped under version 1 in the
    # instant before it saw the new file are picked up by running the rotation again
    rotate_again_if_needed = key_status(factory, rotator).pending
    if rotate_again_if_needed:
        assert rotate(factory, rotator).added_version is False
    assert set(_versions(factory).values()) == {2}
    _assert_all_unwrap(factory, server, {**keys, **created})
    assert server.current_kek_version() == 2


def test_rotation_killed_mid_run_resumes_to_completion(fresh_runtime: Runtime) -> None:
    """A real `haven keys rotate` process, SIGKILLed once it has committed some batches."""
    factory, keyring = fresh_runtime.session_factory, fresh_runtime.keyring
    keys = _make_keys(factory, keyring, 400)
    settings = fresh_runtime.settings
    env = {
        **os.environ,
        **settings_env(settings),
        "HAVEN_DATABASE_URL": settings.database_url,
        "HAVEN_AUDIT_CHECKPOINT_FILE": str(settings.audit_checkpoint_file),
    }
    command = [sys.executable, "-c", "from services.cli import main; main()", "keys", "rotate"]
    process = subprocess.Popen(
        [*command, "--batch-size", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while process.poll() is None:  # wait for some progress, then kill without warning
            with factory() as session:
                done = session.scalar(
                    select(func.count()).select_from(DataKey).where(DataKey.kek_version == 2)
                )
            if done:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)  # pacing the poll only; nothing is asserted about time
    finally:
        process.wait(60)
    versions = _versions(factory)
    assert set(versions.values()) <= {1, 2}
    _assert_all_unwrap(factory, load_keyring(settings), keys)

    resumed = subprocess.run([*command], env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    if 1 in versions.values():  # killed before the end (the usual case): it resumed
        assert "resuming the rotation to KEK version 2" in resumed.stdout
        assert set(_versions(factory).values()) == {2}
    final = load_keyring(settings)
    assert key_status(factory, final).pending == 0
    _assert_all_unwrap(factory, final, keys)


def test_retiring_old_versions_makes_pre_rotation_backups_unreadable(runtime: Runtime) -> None:
    factory, keyring = runtime.session_factory, runtime.keyring
    keys = _make_keys(factory, keyring, 4)
    erased = sorted(keys)[0]
    with factory() as session:
        backup = {
            row.id: (row.kek_version, row.wrapped_key) for row in session.scalars(select(DataKey))
        }
    with factory() as session, session.begin():
        destroy_data_key(session, erased)
    live = {k: v for k, v in keys.items() if k != erased}

    # before the rotation, the backup's wrapped keys (even the erased one) still open
    version, blob = backup[erased]
    assert blob is not None
    assert keyring.unwrap_data_key(WrappedKey(version, blob)) == keys[erased]

    keyring.add_kek_version()  # a rotation that has not re-wrapped anything yet
    with pytest.raises(KeyringError, match="haven keys rotate"):
        retire_old_versions(factory, keyring)
    assert keyring.kek_versions() == [1, 2]

    rotate(factory, keyring)
    assert retire_old_versions(factory, keyring) == [1]
    assert keyring.kek_versions() == [2]
    assert keyring.retired_kek_versions() == [1]
    assert retire_old_versions(factory, keyring) == []
    _assert_all_unwrap(factory, keyring, live)
    for version, blob in backup.values():
        assert blob is not None
        with pytest.raises(KeyringError, match="retired"):
            keyring.unwrap_data_key(WrappedKey(version, blob))
    # a retired number is never reused
    assert keyring.add_kek_version() == 3
    status = key_status(factory, keyring)
    assert status.retired_versions == [1]
    assert status.live_by_version == {2: 3}


@pytest.mark.skipif(
    is_pkcs11(), reason="simulates a worker holding a KEK in memory, which only the key file does"
)
def test_a_key_wrapped_under_a_version_retired_meanwhile_is_rewrapped(runtime: Runtime) -> None:
    factory, keyring = runtime.session_factory, runtime.keyring
    server = load_keyring(runtime.settings)
    # what a worker held in memory before the rotation
    stale_kek = server._material.keks[1]  # type: ignore[attr-defined]

    class StaleWorker:
        """Delegates to `server`, but its first wrap is under version 1 (wrapped before retire)."""

        def __init__(self) -> None:
            self.first = True

        def wrap_data_key(self, dek: bytes) -> WrappedKey:
            if self.first:
                self.first = False
                return WrappedKey(1, gcm_encrypt(stale_kek, dek, _wrap_aad(1)))
            return server.wrap_data_key(dek)

        def __getattr__(self, name: str) -> object:
            return getattr(server, name)

    rotate(factory, keyring)
    assert retire_old_versions(factory, keyring) == [1]
    with factory() as session, session.begin():
        key_id, dek = create_data_key(session, StaleWorker())  # type: ignore[arg-type]
    with factory() as session:
        row = session.get(DataKey, key_id)
        assert row is not None and row.kek_version == 2
        assert load_data_key(session, keyring, key_id) == dek
