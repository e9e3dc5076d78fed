"""Envelope encryption of case fields, and sealing with a system key (AES-256-GCM).

Every blob starts with a one-byte format version, so the format can change later without
guessing. Format 1:

    field blob   = 0x01 | nonce (12 bytes, random) | AES-256-GCM ciphertext and 16-byte tag
    sealed blob  = 0x01 | nonce (12 bytes, random) | AES-256-GCM ciphertext and 16-byte tag

The associated data of a field blob is the format version, the purpose (`field`), the table,
the record id (16 raw bytes) and the field name, each length-prefixed so no two different
(table, record, field) triples can produce the same bytes. A ciphertext copied to another row,
column or table therefore fails to decrypt (`DecryptionError`), as does any flipped bit or a
truncated blob. The data key (DEK) itself is not versioned: each case has exactly one, named by
the case row's `data_key_id`, and key rotation re-wraps DEKs without touching field blobs.

Nonces are 96 random bits from the OS, fresh for every encryption. One DEK encrypts at most a
few thousand fields over a case's life, far below the 2^32 messages NIST allows per key with
random nonces, so a nonce never repeats under one key in practice.
"""

from __future__ import annotations

import os
import struct
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.crypto.errors import DecryptionError

FORMAT_V1 = 0x01
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = 1
MIN_BLOB_BYTES = HEADER_BYTES + NONCE_BYTES + TAG_BYTES

_PURPOSE_FIELD = b"haven.field"
_PURPOSE_SEALED = b"haven.sealed"


def new_data_key() -> bytes:
    """A fresh random 256-bit data-encryption key."""
    return os.urandom(KEY_BYTES)


def _part(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise ValueError("an AES-256 key must be exactly 32 bytes")


def gcm_encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """`0x01 | nonce | ciphertext+tag`; `aad` must already name everything the blob is bound to."""
    _check_key(key)
    header = bytes([FORMAT_V1])
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header + aad)


def gcm_decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    _check_key(key)
    if not isinstance(blob, bytes | bytearray) or len(blob) < MIN_BLOB_BYTES:
        raise DecryptionError("ciphertext is truncated")
    if blob[0] != FORMAT_V1:
        raise DecryptionError(f"unknown ciphertext format version {blob[0]}")
    header = bytes(blob[:HEADER_BYTES])
    nonce = bytes(blob[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES])
    try:
        return AESGCM(key).decrypt(nonce, bytes(blob[HEADER_BYTES + NONCE_BYTES :]), header + aad)
    except InvalidTag:
        raise DecryptionError(
            "ciphertext does not authenticate (wrong key, wrong record/field, or tampered)"
        ) from None


def field_aad(table: str, record_id: uuid.UUID, field: str) -> bytes:
    if not table or not field:
        raise ValueError("table and field must be named")
    return (
        _part(_PURPOSE_FIELD)
        + _part(table.encode("utf-8"))
        + _part(record_id.bytes)
        + _part(field.encode("utf-8"))
    )


def encrypt_field(
    dek: bytes, plaintext: bytes, *, table: str, record_id: uuid.UUID, field: str
) -> bytes:
    """Encrypt one field of one record under its case's data key."""
    return gcm_encrypt(dek, plaintext, field_aad(table, record_id, field))


def decrypt_field(
    dek: bytes, blob: bytes, *, table: str, record_id: uuid.UUID, field: str
) -> bytes:
    """Decrypt a blob from `encrypt_field`; `DecryptionError` unless key and place all match."""
    return gcm_decrypt(dek, blob, field_aad(table, record_id, field))


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt a small secret (e.g. a TOTP seed) under a system key, bound to `aad`."""
    return gcm_encrypt(key, plaintext, _part(_PURPOSE_SEALED) + _part(aad))


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Open a blob from `seal`; `DecryptionError` on the wrong key, `aad` or a tampered blob."""
    return gcm_decrypt(key, blob, _part(_PURPOSE_SEALED) + _part(aad))
