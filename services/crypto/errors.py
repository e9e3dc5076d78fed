"""The crypto errors. No message ever contains key material or plaintext."""

from __future__ import annotations


class DecryptionError(Exception):
    """Wrong key, wrong associated data (another table, record or field), tampered or truncated."""


class KeyringError(Exception):
    """Missing, unreadable or too-permissive key file; unknown key version; destroyed data key."""


class KeyringUnavailable(KeyringError):
    """The keyring cannot be used right now (its file is missing, unreadable or being replaced;
    a hardware token does not answer; it is not yet proven against the database), as opposed to
    a key that is gone for good (a destroyed data key, a retired KEK). The API answers 503 with
    Retry-After for this one and its subclasses: the operator can fix it, and the same request
    then succeeds."""


class KeyringNotProven(KeyringUnavailable):
    """The database could not be reached, so the keyring could not be proven yet."""


class KeyringMismatch(KeyringUnavailable):
    """The keyring cannot unwrap the database's data keys: it is not the one they were written
    under (a wrong or replaced HAVEN_KEY_FILE, another token)."""
