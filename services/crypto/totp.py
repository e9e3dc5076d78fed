"""TOTP second factor (RFC 6238): 6 digits, SHA-1, 30-second steps, one step of drift.

The only module that touches `cryptography`'s `twofactor.totp`. It knows nothing of storage:
the caller seals the secret at rest and remembers the last accepted step (each code once).
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP

DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1
SECRET_BYTES = 20
"""160 bits, RFC 4226's recommended secret length (and what authenticator apps expect)."""


def new_secret() -> bytes:
    return os.urandom(SECRET_BYTES)


def _totp(secret: bytes) -> TOTP:
    # SHA-1 is what RFC 6238 and every authenticator app use for TOTP; as an HMAC it is sound.
    return TOTP(secret, DIGITS, SHA1(), STEP_SECONDS)  # noqa: S303


def provisioning_uri(secret: bytes, *, account_name: str, issuer: str) -> str:
    """The `otpauth://totp/...` URI an authenticator app reads (usually from a QR code)."""
    return _totp(secret).get_provisioning_uri(account_name, issuer)


def time_step(at: float) -> int:
    return int(at // STEP_SECONDS)


def code_at(secret: bytes, step: int) -> str:
    """The code for one time-step (tests and tools; the server only verifies)."""
    return _totp(secret).generate(step * STEP_SECONDS).decode("ascii")


def matching_step(secret: bytes, code: str, at: float) -> int | None:
    """The time-step (within one step of drift around `at`) whose code is `code`, else None.

    The caller must still refuse a step at or before the last one it accepted (replay).
    """
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = _totp(secret)
    now = time_step(at)
    for step in (now, now - 1, now + 1):
        try:
            totp.verify(code.encode("ascii"), step * STEP_SECONDS)
        except InvalidToken:
            continue
        return step
    return None
