"""Envelope encryption properties: round trip, and loud failure on every kind of misuse."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.crypto import (
    DecryptionError,
    decrypt_field,
    encrypt_field,
    new_data_key,
    open_sealed,
    seal,
)

keys = st.binary(min_size=32, max_size=32)
plaintexts = st.binary(max_size=2048)
names = st.text(min_size=1, max_size=40)
ids = st.uuids()


@settings(max_examples=60)
@given(key=keys, plaintext=plaintexts, table=names, record=ids, field=names)
def test_round_trip(
    key: bytes, plaintext: bytes, table: str, record: uuid.UUID, field: str
) -> None:
    blob = encrypt_field(key, plaintext, table=table, record_id=record, field=field)
    assert blob[0] == 1  # format version header
    assert len(blob) == 1 + 12 + len(plaintext) + 16
    assert decrypt_field(key, blob, table=table, record_id=record, field=field) == plaintext


@settings(max_examples=40)
@given(key=keys, other=keys, plaintext=plaintexts, record=ids)
def test_wrong_key_fails(key: bytes, other: bytes, plaintext: bytes, record: uuid.UUID) -> None:
    if key == other:
        return
    blob = encrypt_field(key, plaintext, table="cases", record_id=record, field="narrative")
    with pytest.raises(DecryptionError):
        decrypt_field(other, blob, table="cases", record_id=record, field="narrative")


@settings(max_examples=60)
@given(
    key=keys,
    plaintext=plaintexts,
    place=st.tuples(names, ids, names),
    other=st.tuples(names, ids, names),
)
def test_ciphertext_moved_to_another_table_record_or_field_fails(
    key: bytes,
    plaintext: bytes,
    place: tuple[str, uuid.UUID, str],
    other: tuple[str, uuid.UUID, str],
) -> None:
    if place == other:
        return
    table, record, field = place
    blob = encrypt_field(key, plaintext, table=table, record_id=record, field=field)
    with pytest.raises(DecryptionError):
        decrypt_field(key, blob, table=other[0], record_id=other[1], field=other[2])


def test_each_kind_of_move_fails_on_its_own() -> None:
    key = new_data_key()
    record, other_record = uuid.uuid4(), uuid.uuid4()
    blob = encrypt_field(key, b"Amal", table="cases", record_id=record, field="given_name")
    for table, rid, field in (
        ("case_notes", record, "given_name"),  # another table
        ("cases", other_record, "given_name"),  # another row
        ("cases", record, "family_name"),  # another column
        ("casesg", record, "iven_name"),  # same bytes concatenated differently
    ):
        with pytest.raises(DecryptionError):
            decrypt_field(key, blob, table=table, record_id=rid, field=field)


@settings(max_examples=60)
@given(key=keys, plaintext=plaintexts, data=st.data())
def test_truncated_ciphertext_fails(key: bytes, plaintext: bytes, data: st.DataObject) -> None:
    record = uuid.uuid4()
    blob = encrypt_field(key, plaintext, table="cases", record_id=record, field="f")
    cut = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    with pytest.raises(DecryptionError):
        decrypt_field(key, blob[:cut], table="cases", record_id=record, field="f")


@settings(max_examples=80)
@given(key=keys, plaintext=plaintexts, data=st.data())
def test_any_flipped_bit_fails(key: bytes, plaintext: bytes, data: st.DataObject) -> None:
    record = uuid.uuid4()
    blob = bytearray(encrypt_field(key, plaintext, table="cases", record_id=record, field="f"))
    bit = data.draw(st.integers(min_value=0, max_value=len(blob) * 8 - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(DecryptionError):
        decrypt_field(key, bytes(blob), table="cases", record_id=record, field="f")


def test_nonces_are_fresh_and_unknown_format_versions_are_refused() -> None:
    key = new_data_key()
    record = uuid.uuid4()
    blobs = {
        encrypt_field(key, b"same", table="t", record_id=record, field="f") for _ in range(200)
    }
    assert len(blobs) == 200
    assert len({blob[1:13] for blob in blobs}) == 200
    blob = next(iter(blobs))
    with pytest.raises(DecryptionError, match="format version"):
        decrypt_field(key, b"\x02" + blob[1:], table="t", record_id=record, field="f")
    with pytest.raises(DecryptionError):
        decrypt_field(key, b"", table="t", record_id=record, field="f")


def test_bad_key_length_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="exactly 32 bytes"):
        encrypt_field(b"short", b"x", table="t", record_id=uuid.uuid4(), field="f")
    assert len(new_data_key()) == 32
    assert new_data_key() != new_data_key()


@settings(max_examples=40)
@given(key=keys, other=keys, plaintext=plaintexts, aad=st.binary(max_size=64))
def test_seal_round_trip_and_misuse(key: bytes, other: bytes, plaintext: bytes, aad: bytes) -> None:
    blob = seal(key, plaintext, aad)
    assert open_sealed(key, blob, aad) == plaintext
    with pytest.raises(DecryptionError):
        open_sealed(key, blob, aad + b"x")
    if other != key:
        with pytest.raises(DecryptionError):
            open_sealed(other, blob, aad)
    with pytest.raises(DecryptionError):
        open_sealed(key, blob[:-1], aad)


def test_a_sealed_blob_is_not_a_field_blob() -> None:
    key = new_data_key()
    record = uuid.uuid4()
    field_blob = encrypt_field(key, b"x", table="t", record_id=record, field="f")
    with pytest.raises(DecryptionError):
        open_sealed(key, field_blob, b"t")
