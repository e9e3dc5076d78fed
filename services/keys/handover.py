"""Moving a deployment from the key file to a PKCS#11 token (`haven keys migrate-to-pkcs11`).

Run with `HAVEN_KEYRING=pkcs11` (and the token's settings) while `HAVEN_KEY_FILE` still names the
key file, so the keyring is the token with the file beside it (`Pkcs11Keyring.legacy`):
1. prepare the token: the file's blind-index, system and signing keys sealed into it, and a KEK
   generated inside it, numbered above every version the file ever had;
2. re-wrap every live data key under the token's KEK, in batches, exactly as a rotation does
   (`services.keys.rotation.rewrap_all`): each batch commits on its own, a key is always
   wrapped under a version one of the two holds, so no case is unreadable at any moment, and a
   run that is interrupted is finished by running the command again;
3. retire the file's KEKs (and any older token version) once no live data key uses them, under
   the same lock as `haven keys retire`; the file is left holding no KEK and marked handed over.
Servers running with the same settings during the move read keys of both kinds throughout and
wrap new keys under the token's KEK from the moment it exists (within a second).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from services import audit
from services.actions import Action
from services.crypto.custody import ProvenKeyring
from services.crypto.errors import KeyringError
from services.crypto.keyring import Keyring, LocalFileKeyring
from services.crypto.pkcs11_keyring import Pkcs11Keyring, Roots
from services.keys.rotation import (
    DEFAULT_BATCH_SIZE,
    SYSTEM_ACTOR,
    count_pending,
    retire_old_versions,
    rewrap_all,
)


@dataclass(frozen=True)
class HandoverPlan:
    token_version: int
    """The token's KEK version every data key is re-wrapped to."""
    prepared: bool
    """True when this run prepared the token; False when it resumes."""
    pending: int
    """Live data keys still under an older version (the file's) when the run started."""


@dataclass(frozen=True)
class HandoverResult:
    token_version: int
    prepared: bool
    rewrapped: int
    batches: int
    retired: list[int]


def _token_with_file(keyring: Keyring) -> tuple[Pkcs11Keyring, LocalFileKeyring]:
    backend = keyring.backend if isinstance(keyring, ProvenKeyring) else keyring
    if not isinstance(backend, Pkcs11Keyring) or backend.legacy is None:
        raise KeyringError(
            "moving keys to the token needs HAVEN_KEYRING=pkcs11 with the token's settings "
            "(HAVEN_PKCS11_MODULE, HAVEN_PKCS11_TOKEN, HAVEN_PKCS11_PIN or _PIN_FILE) and "
            "HAVEN_KEY_FILE still naming the key file"
        )
    return backend, backend.legacy


def prepare_token(
    session_factory: sessionmaker[Session], keyring: Keyring
) -> tuple[Pkcs11Keyring, bool]:
    """Step 1 (once): the file's roots and a fresh KEK into the token; audited."""
    backend, legacy = _token_with_file(keyring)
    backend.refresh()
    token_versions = set(backend.kek_versions()) - set(legacy.kek_versions())
    if token_versions:
        return backend, False
    first = max([*legacy.kek_versions(), *legacy.retired_kek_versions()], default=0) + 1
    Pkcs11Keyring.initialise(
        backend.token,
        Roots(legacy.blind_index_root(), legacy.system_root(), legacy.signing_seed()),
        first_version=first,
    )
    backend.refresh()
    with session_factory() as session, session.begin():
        audit.record(
            session,
            SYSTEM_ACTOR,
            Action.KEYS_TOKEN_PREPARED,
            resource_type="keyring",
            resource_id=first,
            detail={"kek_version": first, "token": backend.token.label},
        )
    return backend, True


def migrate_to_pkcs11(
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_plan: Callable[[HandoverPlan], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> HandoverResult:
    """Steps 1-3 of the module docstring; resumable at any point."""
    backend, prepared = prepare_token(session_factory, keyring)
    target = backend.current_kek_version()
    with session_factory() as session:
        pending = count_pending(session, target)
    if on_plan is not None:
        on_plan(HandoverPlan(token_version=target, prepared=prepared, pending=pending))
    rewrapped, batches = rewrap_all(
        session_factory, keyring, batch_size=batch_size, on_batch=on_batch
    )
    retired = retire_old_versions(session_factory, keyring)
    with session_factory() as session, session.begin():
        audit.record(
            session,
            SYSTEM_ACTOR,
            Action.KEYS_MOVED_TO_PKCS11,
            resource_type="keyring",
            resource_id=target,
            detail={"kek_version": target, "rewrapped": rewrapped, "retired_versions": retired},
        )
    return HandoverResult(
        token_version=target,
        prepared=prepared,
        rewrapped=rewrapped,
        batches=batches,
        retired=retired,
    )
