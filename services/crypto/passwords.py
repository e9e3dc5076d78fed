"""Password hashing with Argon2id (PHC strings, so parameters can be raised and hashes upgraded);
keyed hashes of machine-generated secrets (partner client secrets)."""

from __future__ import annotations

import hashlib
import hmac
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


# --- partner client secrets ---------------------------------------------------------------
#
# A client secret is 256 random bits made by the server, not a human's password: nobody can
# guess it, so a slow hash buys nothing, and it would let anyone make the server run Argon2 by
# posting any client id to /auth/token. It is stored as HMAC-SHA256 under a keyring system key
# (a stolen database alone cannot even check a candidate) and compared in constant time.

CLIENT_SECRET_KEY_PURPOSE = "client-secret"  # noqa: S105 (a key purpose name)
CLIENT_SECRET_SCHEME = "hmac-sha256$"  # noqa: S105 (a scheme prefix)


def hash_client_secret(key: bytes, secret: str) -> str:
    """`hmac-sha256$<64 hex>` of the secret under `key` (keyring.system_key("client-secret"))."""
    digest = hmac.new(key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return CLIENT_SECRET_SCHEME + digest


def is_client_secret_hash(encoded: str) -> bool:
    return encoded.startswith(CLIENT_SECRET_SCHEME)


def verify_client_secret(key: bytes, secret: str, encoded: str | None) -> bool:
    """Constant-time check; `encoded=None` (unknown client) costs the same and answers False."""
    candidate = hash_client_secret(key, secret).encode("ascii")
    stored = (encoded or DUMMY_CLIENT_SECRET_HASH).encode("utf-8", "surrogatepass")
    return hmac.compare_digest(candidate, stored) and encoded is not None


DUMMY_CLIENT_SECRET_HASH = CLIENT_SECRET_SCHEME + "0" * 64
