"""Envelope encryption, keyring, blind indexes, signatures: the only importer of `cryptography`
and of the PKCS#11 binding (`pkcs11`, in `services.crypto.pkcs11_keyring` only).

Other areas import only the names below (and `services.crypto.passwords`, `services.crypto.totp`;
the keyring's set-up and custody: `services.crypto.setup`, `services.crypto.custody`).
"""

from services.crypto.blind_index import BlindIndex, truncated_hmac
from services.crypto.data_keys import (
    create_data_key,
    destroy_data_key,
    load_data_key,
    load_data_keys,
)
from services.crypto.envelope import (
    decrypt_field,
    encrypt_field,
    new_data_key,
    open_sealed,
    seal,
)
from services.crypto.errors import (
    DecryptionError,
    KeyringError,
    KeyringMismatch,
    KeyringNotProven,
    KeyringUnavailable,
)
from services.crypto.keyring import Keyring, WrappedKey, init_keyring, load_keyring
from services.crypto.lookup import lookup_digest
from services.crypto.normalise import normalise
from services.crypto.signing import verify_signature

__all__ = [
    "BlindIndex",
    "DecryptionError",
    "Keyring",
    "KeyringError",
    "KeyringMismatch",
    "KeyringNotProven",
    "KeyringUnavailable",
    "WrappedKey",
    "create_data_key",
    "decrypt_field",
    "destroy_data_key",
    "encrypt_field",
    "init_keyring",
    "load_data_key",
    "load_data_keys",
    "load_keyring",
    "lookup_digest",
    "new_data_key",
    "normalise",
    "open_sealed",
    "seal",
    "truncated_hmac",
    "verify_signature",
]
