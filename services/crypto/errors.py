"""The two crypto errors. Neither message ever contains key material or plaintext."""

from __future__ import annotations


class DecryptionError(Exception):
    """Wrong key, wrong associated data (another table, record or field), tampered or truncated."""


class KeyringError(Exception):
    """Missing, unreadable or too-permissive key file; unknown key version; destroyed data key."""
