"""The crypto interface as other areas use it: a quick end-to-end smoke test."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from services.crypto import (
    BlindIndex,
    DecryptionError,
    KeyringError,
    create_data_key,
    decrypt_field,
    destroy_data_key,
    encrypt_field,
    load_data_key,
    load_data_keys,
    normalise,
    open_sealed,
    seal,
    verify_signature,
)
from services.runtime import Runtime


def test_data_key_lifecycle_and_field_encryption(db: Session, runtime: Runtime) -> None:
    keyring = runtime.keyring
    key_id, dek = create_data_key(db, keyring)
    assert load_data_key(db, keyring, key_id) == dek
    other_id, other = create_data_key(db, keyring)
    assert other != dek
    assert load_data_keys(db, keyring, [key_id, other_id]) == {key_id: dek, other_id: other}

    record = uuid.uuid4()
    blob = encrypt_field(dek, b"Amal", table="cases", record_id=record, field="given_name")
    assert b"Amal" not in blob
    got = decrypt_field(dek, blob, table="cases", record_id=record, field="given_name")
    assert got.decode() == "Amal"
    with pytest.raises(DecryptionError):
        decrypt_field(dek, blob, table="cases", record_id=record, field="family_name")
    with pytest.raises(DecryptionError):
        decrypt_field(other, blob, table="cases", record_id=record, field="given_name")

    destroy_data_key(db, key_id)
    with pytest.raises(KeyringError):
        load_data_key(db, keyring, key_id)
    with pytest.raises(KeyringError):
        load_data_keys(db, keyring, [key_id, other_id])
    assert load_data_key(db, keyring, other_id) == other
    with pytest.raises(KeyringError):
        load_data_key(db, keyring, uuid.uuid4())


def test_system_keys_seal_and_sign(runtime: Runtime) -> None:
    keyring = runtime.keyring
    totp = keyring.system_key("totp")
    assert len(totp) == 32
    assert totp == keyring.system_key("totp")
    assert totp != keyring.system_key("other")
    blob = seal(totp, b"seed", b"user:1")
    assert open_sealed(totp, blob, b"user:1") == b"seed"
    with pytest.raises(DecryptionError):
        open_sealed(totp, blob, b"user:2")

    public = keyring.signing_public_key()
    assert len(public) == 32
    signature = keyring.sign(b"head")
    assert verify_signature(public, b"head", signature)
    assert not verify_signature(public, b"head!", signature)
    assert not verify_signature(b"\x00" * 31, b"head", signature)


def test_blind_index_tokens(runtime: Runtime) -> None:
    index = BlindIndex(runtime.keyring, runtime.settings.planned_case_count)
    assert index.bits == 15
    assert index.token("given_name", "  AMAL ") == index.token("given_name", "amal")
    assert index.token("given_name", "   ") is None
    token = index.token("given_name", "أمل")
    assert token is not None and len(token) == 4
    assert normalise("  Amal   Haddad ") == "amal haddad"
