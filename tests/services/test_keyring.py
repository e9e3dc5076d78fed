"""The local-file keyring: created 0600, refused when others may read it, atomic, versioned."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from services.config import Settings
from services.crypto import (
    DecryptionError,
    Keyring,
    KeyringError,
    WrappedKey,
    create_data_key,
    init_keyring,
    new_data_key,
    verify_signature,
)
from services.crypto.keyring import LocalFileKeyring
from services.runtime import Runtime, build_runtime
from tests.keyrings import is_pkcs11

pytestmark = pytest.mark.skipif(
    is_pkcs11(), reason="the key file's custody; a token's is tested in tests/pkcs11"
)


def _settings(path: Path) -> Settings:
    return Settings(key_file=path)


def test_created_0600_in_a_new_folder_on_first_start(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "var" / "keyring.json"
    keyring = init_keyring(_settings(path))
    assert isinstance(keyring, Keyring)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keyring.current_kek_version() == 1
    assert keyring.kek_versions() == [1]
    # no temporary files left beside it
    assert sorted(p.name for p in path.parent.iterdir()) == ["keyring.json", "keyring.json.lock"]
    content = json.loads(path.read_text())
    assert content["haven_keyring"] == 1
    assert content["blind_index_root"] != content["system_root"]
    assert content["blind_index_root"] not in {k["key"] for k in content["keks"]}


def test_a_second_start_loads_the_same_keys(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    first = init_keyring(_settings(path))
    dek = new_data_key()
    wrapped = first.wrap_data_key(dek)
    second = init_keyring(_settings(path))
    assert second.unwrap_data_key(wrapped) == dek
    assert second.system_key("totp") == first.system_key("totp")
    assert second.signing_public_key() == first.signing_public_key()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620])
def test_refused_when_group_or_others_have_access(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keyring.json"
    init_keyring(_settings(path))
    path.chmod(mode)
    with pytest.raises(KeyringError, match="chmod 600"):
        init_keyring(_settings(path))


def test_a_running_keyring_refuses_a_file_that_became_readable(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    keyring = init_keyring(_settings(path))
    other = init_keyring(_settings(path))
    other.add_kek_version()
    path.chmod(0o644)
    with pytest.raises(KeyringError, match="group or others"):
        keyring.current_kek_version()


def test_damaged_files_are_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    for content in ("{not json", "[]", '{"haven_keyring": 1, "keks": []}'):
        path.write_text(content)
        path.chmod(0o600)
        with pytest.raises(KeyringError):
            init_keyring(_settings(path))


def test_wrapped_keys_name_their_version_and_unwrap_after_rotation(tmp_path: Path) -> None:
    keyring = init_keyring(_settings(tmp_path / "keyring.json"))
    dek = new_data_key()
    old = keyring.wrap_data_key(dek)
    assert old.kek_version == 1
    assert dek not in old.blob
    assert keyring.add_kek_version() == 2
    assert keyring.current_kek_version() == 2
    new = keyring.wrap_data_key(dek)
    assert new.kek_version == 2
    assert keyring.unwrap_data_key(old) == dek
    assert keyring.unwrap_data_key(new) == dek
    # the version is bound into the wrap: relabelling a blob fails loudly
    with pytest.raises(DecryptionError):
        keyring.unwrap_data_key(WrappedKey(kek_version=2, blob=old.blob))
    with pytest.raises(KeyringError, match="version 7"):
        keyring.unwrap_data_key(WrappedKey(kek_version=7, blob=old.blob))
    with pytest.raises(DecryptionError):
        keyring.unwrap_data_key(WrappedKey(kek_version=1, blob=old.blob[:-1]))


def test_another_keyring_file_cannot_unwrap(tmp_path: Path) -> None:
    one = init_keyring(_settings(tmp_path / "a" / "keyring.json"))
    two = init_keyring(_settings(tmp_path / "b" / "keyring.json"))
    wrapped = one.wrap_data_key(new_data_key())
    with pytest.raises(DecryptionError):
        two.unwrap_data_key(wrapped)
    assert one.system_key("totp") != two.system_key("totp")
    assert one.blind_index_key("given_name") != two.blind_index_key("given_name")


def test_a_stale_process_picks_up_a_new_version_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    worker = init_keyring(_settings(path))
    rotator = init_keyring(_settings(path))
    version = rotator.add_kek_version()
    dek = new_data_key()
    wrapped = rotator.wrap_data_key(dek)
    assert wrapped.kek_version == version == 2
    assert worker.unwrap_data_key(wrapped) == dek
    assert worker.wrap_data_key(dek).kek_version == 2


def test_system_keys_and_index_keys_are_separate_per_purpose(tmp_path: Path) -> None:
    keyring = init_keyring(_settings(tmp_path / "keyring.json"))
    derived = {
        keyring.system_key("totp"),
        keyring.system_key("totp2"),
        keyring.blind_index_key("totp"),
        keyring.blind_index_key("given_name"),
        keyring.blind_index_key("family_name"),
    }
    assert len(derived) == 5
    assert all(len(key) == 32 for key in derived)
    with pytest.raises(ValueError, match="needs a purpose"):
        keyring.system_key("")


def test_signatures_verify_only_for_the_right_message_and_key(tmp_path: Path) -> None:
    one = init_keyring(_settings(tmp_path / "a.json"))
    two = init_keyring(_settings(tmp_path / "b.json"))
    signature = one.sign(b"checkpoint 42 abcdef")
    assert len(signature) == 64
    assert verify_signature(one.signing_public_key(), b"checkpoint 42 abcdef", signature)
    assert not verify_signature(two.signing_public_key(), b"checkpoint 42 abcdef", signature)
    assert not verify_signature(one.signing_public_key(), b"checkpoint 43 abcdef", signature)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert not verify_signature(one.signing_public_key(), b"checkpoint 42 abcdef", flipped)
    assert not verify_signature(b"", b"x", signature)


def _add_versions(path: str, count: int) -> None:
    keyring = LocalFileKeyring(Path(path), create=True)
    for _ in range(count):
        keyring.add_kek_version()


def test_concurrent_processes_adding_versions_lose_none(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    first = init_keyring(_settings(path))
    wrapped = first.wrap_data_key(dek := new_data_key())
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_add_versions, args=(str(path), 5)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    final = init_keyring(_settings(path))
    assert final.kek_versions() == list(range(1, 17))
    assert final.current_kek_version() == 16
    assert final.unwrap_data_key(wrapped) == dek
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_failed_write_leaves_the_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keyring.json"
    keyring = init_keyring(_settings(path))
    before = path.read_bytes()

    def crash(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        keyring.add_kek_version()
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert init_keyring(_settings(path)).kek_versions() == [1]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_keyring_that_does_not_match_the_database_refuses_to_start(
    fresh_runtime: Runtime,
) -> None:
    settings = fresh_runtime.settings
    with fresh_runtime.session_factory() as session, session.begin():
        create_data_key(session, fresh_runtime.keyring)
    # the right keyring starts
    build_runtime(settings).engine.dispose()
    # a wrong HAVEN_KEY_FILE would silently create a new keyring: refused instead
    wrong = settings.model_copy(update={"key_file": settings.key_file.parent / "new" / "k.json"})
    with pytest.raises(KeyringError, match="HAVEN_KEY_FILE"):
        build_runtime(wrong)


def test_retired_versions_are_gone_from_the_file_and_never_reused(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    keyring = init_keyring(_settings(path))
    old_key = json.loads(path.read_text())["keks"][0]["key"]
    keyring.add_kek_version()
    with pytest.raises(KeyringError, match="current"):
        keyring.retire_kek_versions([1, 2])
    assert keyring.retire_kek_versions([1, 99]) == [1]
    assert old_key not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reloaded = init_keyring(_settings(path))
    assert reloaded.kek_versions() == [2]
    assert reloaded.retired_kek_versions() == [1]
    assert reloaded.add_kek_version() == 3
