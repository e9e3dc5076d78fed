"""Key escrow in the age format (https://age-encryption.org/v1), through `pyrage`.

The keyring is encrypted to a recovery *public* key (`age1…`, HAVEN_ESCROW_RECIPIENT); the
matching identity (`AGE-SECRET-KEY-1…`) stays offline and is needed only to restore. Haven never
holds that identity while it runs, so a stolen backup (or a stolen server) does not give the keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import pyrage

RECIPIENT_PREFIX = "age1"
IDENTITY_PREFIX = "AGE-SECRET-KEY-1"


class EscrowError(Exception):
    """The recipient, identity or escrow file is unusable; the message says why."""


@runtime_checkable
class EscrowExport(Protocol):
    """A keyring whose key material can be escrowed: the file keyring. A keyring whose keys
    never leave a hardware token (PKCS#11) has no such export; the token has its own backup."""

    def export_for_escrow(self) -> bytes: ...


def parse_recipient(text: str | None) -> pyrage.x25519.Recipient:
    value = (text or "").strip()
    if not value:
        raise EscrowError(
            "no recovery key: set HAVEN_ESCROW_RECIPIENT to an age public key (age1…); "
            "a backup without the keyring cannot be restored, and with it in the clear it "
            "would be a leak"
        )
    if not value.startswith(RECIPIENT_PREFIX):
        raise EscrowError("HAVEN_ESCROW_RECIPIENT must be an age X25519 public key (age1…)")
    try:
        return pyrage.x25519.Recipient.from_str(value)
    except Exception:  # noqa: BLE001  pyrage raises its own untyped errors
        raise EscrowError("HAVEN_ESCROW_RECIPIENT is not a valid age public key") from None


def encrypt_to(recipient: pyrage.x25519.Recipient, data: bytes) -> bytes:
    return bytes(pyrage.encrypt(data, [recipient]))


def read_identities(path: Path) -> list[pyrage.x25519.Identity]:
    """Identities from an age identity file (`age-keygen` output: comments and key lines)."""
    try:
        text = path.read_text(encoding="ascii")
    except OSError as error:
        raise EscrowError(f"cannot read the identity file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise EscrowError(f"{path} is not an age identity file") from None
    identities = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith(IDENTITY_PREFIX):
            raise EscrowError(f"{path} is not an age identity file (AGE-SECRET-KEY-1…)")
        try:
            identities.append(pyrage.x25519.Identity.from_str(line))
        except Exception:  # noqa: BLE001  pyrage raises its own untyped errors
            raise EscrowError(f"{path} holds an invalid age identity") from None
    if not identities:
        raise EscrowError(f"{path} holds no age identity")
    return identities


def decrypt_with(identities: list[pyrage.x25519.Identity], data: bytes) -> bytes:
    try:
        return bytes(pyrage.decrypt(data, identities))
    except Exception:  # noqa: BLE001  pyrage raises its own untyped errors
        raise EscrowError(
            "the keyring escrow does not open with this identity (another recovery key?)"
        ) from None
