"""What every keyring does, run against both: the key file and a PKCS#11 token (SoftHSM)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from services.config import Settings
from services.crypto import (
    DecryptionError,
    Keyring,
    KeyringError,
    WrappedKey,
    create_data_key,
    destroy_data_key,
    load_data_key,
    load_keyring,
    new_data_key,
    verify_signature,
)
from tests.keyrings import make_keyring, pkcs11_settings, remove_token_keyring

Open = Callable[[], Keyring]
"""Opens the keyring once more, as another process would."""


@pytest.fixture(params=["file", "pkcs11"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _settings(kind: str, folder: Path) -> Settings:
    base = Settings(key_file=folder / "keyring.json")
    return pkcs11_settings(base) if kind == "pkcs11" else base


@pytest.fixture
def opened(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Open]:
    from services.crypto import pkcs11_keyring

    monkeypatch.setattr(pkcs11_keyring, "VERSION_REFRESH_SECONDS", 0.0)
    settings = _settings(kind, tmp_path / "one")
    make_keyring(settings)
    yield lambda: load_keyring(settings)
    remove_token_keyring(settings)


@pytest.fixture
def stranger(kind: str, tmp_path: Path) -> Iterator[Keyring]:
    settings = _settings(kind, tmp_path / "two")
    make_keyring(settings)
    yield load_keyring(settings)
    remove_token_keyring(settings)


def test_wrapped_keys_round_trip_and_name_their_version(opened: Open) -> None:
    keyring = opened()
    dek = new_data_key()
    wrapped = keyring.wrap_data_key(dek)
    assert wrapped.kek_version == keyring.current_kek_version() == 1
    assert dek not in wrapped.blob
    assert keyring.unwrap_data_key(wrapped) == dek
    assert opened().unwrap_data_key(wrapped) == dek
    with pytest.raises(ValueError, match="32 bytes"):
        keyring.wrap_data_key(b"short")


def test_tampered_relabelled_and_unknown_wraps_fail_loudly(opened: Open) -> None:
    keyring = opened()
    wrapped = keyring.wrap_data_key(new_data_key())
    fresh = opened()  # no cache of this key yet
    flipped = bytes([wrapped.blob[-1] ^ 1])
    with pytest.raises(DecryptionError):
        fresh.unwrap_data_key(WrappedKey(1, wrapped.blob[:-1] + flipped))
    with pytest.raises(DecryptionError):
        fresh.unwrap_data_key(WrappedKey(1, wrapped.blob[:20]))
    keyring.add_kek_version()
    with pytest.raises(DecryptionError):  # the version is bound in: relabelling fails
        opened().unwrap_data_key(WrappedKey(2, wrapped.blob))
    with pytest.raises(KeyringError, match="version 7"):
        fresh.unwrap_data_key(WrappedKey(7, wrapped.blob))


def test_another_keyring_cannot_unwrap_or_derive_the_same_keys(
    opened: Open, stranger: Keyring
) -> None:
    keyring = opened()
    wrapped = keyring.wrap_data_key(new_data_key())
    with pytest.raises(DecryptionError):
        stranger.unwrap_data_key(wrapped)
    assert keyring.system_key("totp") != stranger.system_key("totp")
    assert keyring.blind_index_key("given_name") != stranger.blind_index_key("given_name")
    assert keyring.signing_public_key() != stranger.signing_public_key()


def test_rotation_adds_a_version_everyone_sees_and_old_keys_still_unwrap(opened: Open) -> None:
    server, rotator = opened(), opened()
    dek = new_data_key()
    old = server.wrap_data_key(dek)
    assert rotator.add_kek_version() == 2
    assert rotator.current_kek_version() == 2
    new = rotator.wrap_data_key(dek)
    assert new.kek_version == 2
    assert server.unwrap_data_key(new) == dek  # a process that has not seen version 2 yet
    assert server.wrap_data_key(dek).kek_version == 2
    assert server.kek_versions() == [1, 2]
    assert server.holds_kek_version(2) and not server.holds_kek_version(3)
    assert rotator.unwrap_data_key(old) == dek
    assert server.kek_added_at(2) is not None


def test_retired_versions_are_gone_for_everyone_and_never_reused(opened: Open) -> None:
    keyring, other = opened(), opened()
    old = keyring.wrap_data_key(new_data_key())
    keyring.add_kek_version()
    with pytest.raises(KeyringError, match="current"):
        keyring.retire_kek_versions([1, 2])
    assert keyring.retire_kek_versions([1, 99]) == [1]
    assert keyring.kek_versions() == [2]
    assert keyring.retired_kek_versions() == [1]
    assert not other.holds_kek_version(1)
    with pytest.raises(KeyringError, match="retired"):
        opened().unwrap_data_key(old)
    assert keyring.add_kek_version() == 3


def test_derived_keys_and_signatures_are_stable_and_separate(opened: Open) -> None:
    one, two = opened(), opened()
    derived = {
        one.system_key("totp"),
        one.system_key("tombstone"),
        one.blind_index_key("totp"),
        one.blind_index_key("given_name"),
    }
    assert len(derived) == 4 and all(len(key) == 32 for key in derived)
    assert two.system_key("totp") == one.system_key("totp")
    assert two.blind_index_key("given_name") == one.blind_index_key("given_name")
    signature = one.sign(b"checkpoint 42")
    assert verify_signature(two.signing_public_key(), b"checkpoint 42", signature)
    assert not verify_signature(two.signing_public_key(), b"checkpoint 43", signature)
    with pytest.raises(ValueError, match="needs a purpose"):
        one.system_key("")


# --- PKCS#11 only ----------------------------------------------------------------------------


def test_the_token_generated_the_kek_and_will_never_let_it_out(tmp_path: Path) -> None:
    from services.crypto.pkcs11_keyring import Pkcs11Keyring

    settings = pkcs11_settings(Settings(key_file=tmp_path / "absent.json"))
    make_keyring(settings)
    try:
        keyring = load_keyring(settings)
        assert isinstance(keyring, Pkcs11Keyring)
        keyring.add_kek_version()
        for version in (1, 2):
            custody = keyring.kek_custody(version)
            assert custody.sensitive and custody.never_extractable
            assert not custody.extractable and not custody.value_readable
            assert custody.generated_in_token
        assert not (tmp_path / "absent.json").exists()  # nothing of the keyring on disk
    finally:
        remove_token_keyring(settings)


def test_cached_data_keys_stop_working_the_moment_a_case_is_erased(
    tmp_path: Path, db: Session
) -> None:
    """The cache spares the token a round trip per read, but erasure still wins at once: the
    data key's row is read on every use, and an erased row holds no wrapped key."""
    from services.crypto.pkcs11_keyring import Pkcs11Keyring

    settings = pkcs11_settings(Settings(key_file=tmp_path / "absent.json"))
    make_keyring(settings)
    try:
        keyring = load_keyring(settings)
        assert isinstance(keyring, Pkcs11Keyring)
        key_id, dek = create_data_key(db, keyring)
        asked = 0
        real = keyring.token.gcm_decrypt

        def counting(*args: object) -> bytes:
            nonlocal asked
            asked += 1
            return real(*args)  # type: ignore[arg-type]

        keyring.token.gcm_decrypt = counting  # type: ignore[method-assign,assignment]
        for _ in range(5):
            assert load_data_key(db, keyring, key_id) == dek
        assert asked == 0  # cached since it was wrapped
        keyring.cache.clear()
        assert load_data_key(db, keyring, key_id) == dek
        assert load_data_key(db, keyring, key_id) == dek
        assert asked == 1
        destroy_data_key(db, key_id)
        with pytest.raises(KeyringError, match="destroyed"):
            load_data_key(db, keyring, key_id)
        with pytest.raises(KeyringError, match="does not exist"):
            load_data_key(db, keyring, uuid.uuid4())
    finally:
        remove_token_keyring(settings)


def test_the_cache_is_bounded_in_size_and_age(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.crypto.pkcs11_keyring import DekCache

    cache = DekCache(size=3, seconds=60)
    keys = [(WrappedKey(1, bytes([n]) * 40), bytes([n]) * 32) for n in range(5)]
    for wrapped, dek in keys:
        cache.put(wrapped, dek)
    assert len(cache) == 3
    assert cache.get(keys[0][0]) is None and cache.get(keys[4][0]) == keys[4][1]
    clock = [1000.0]
    monkeypatch.setattr("services.crypto.pkcs11_keyring.time.monotonic", lambda: clock[0])
    aged = DekCache(size=3, seconds=60)
    aged.put(*keys[0])
    clock[0] += 61
    assert aged.get(keys[0][0]) is None
