"""Password hashing with Argon2id (PHC strings, so parameters can be raised and hashes upgraded)."""

from __future__ import annotations

import os
import re

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

# OWASP's minimum for Argon2id: t=2, m=19 MiB, p=1.
ARGON2_ITERATIONS = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_LANES = 1
ARGON2_LENGTH = 32

_PARAMS = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")


def hash_password(password: str) -> str:
    kdf = Argon2id(
        salt=os.urandom(16),
        length=ARGON2_LENGTH,
        iterations=ARGON2_ITERATIONS,
        lanes=ARGON2_LANES,
        memory_cost=ARGON2_MEMORY_KIB,
    )
    return kdf.derive_phc_encoded(password.encode("utf-8"))


def verify_password(password: str, encoded: str) -> bool:
    try:
        Argon2id.verify_phc_encoded(password.encode("utf-8"), encoded)
    except (InvalidKey, ValueError):
        return False
    return True


def needs_rehash(encoded: str) -> bool:
    """True when the stored hash is weaker than today's parameters."""
    match = _PARAMS.match(encoded)
    if match is None:
        return True
    memory, iterations, lanes = (int(g) for g in match.groups())
    return memory < ARGON2_MEMORY_KIB or iterations < ARGON2_ITERATIONS or lanes < ARGON2_LANES


def verify_and_upgrade(password: str, encoded: str) -> tuple[bool, str | None]:
    """Verify, and when the stored hash is weaker than today's parameters return a new one.

    `(False, None)`: wrong password. `(True, None)`: right, hash is current. `(True, new)`: right,
    store `new` instead (rehash on login, so raised parameters reach every active account).
    """
    if not verify_password(password, encoded):
        return False, None
    return True, (hash_password(password) if needs_rehash(encoded) else None)


# Verifying against this keeps unknown usernames as slow as known ones.
DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$FB32wumScU057O+CQJi9Cg$"
    "4Z4eQFSGGaCD4QKroGKT24gi3+ebmh8FQXZCvQHulyw"
)
