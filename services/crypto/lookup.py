"""Keyed lookup digests: find a row again by something a person typed, without storing a value
anyone could reverse.

A plain SHA-256 of a username or an `Idempotency-Key` is reversible by guessing: usernames and
hand-made keys come from small spaces (names, `intake-1`), so hashing every candidate finds the
one stored. An HMAC-SHA256 under a key derived from the keyring (one per purpose) is worthless
without the keyring, which never sits with the database or its backups.
"""

from __future__ import annotations

import hashlib
import hmac

from services.crypto.keyring import Keyring


def lookup_digest(keyring: Keyring, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` under the keyring's `purpose` system key: 64 lowercase hex."""
    key = keyring.system_key(purpose)
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
