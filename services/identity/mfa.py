"""TOTP second factor: enrol, confirm, disable, check at login; one-time recovery codes.

The secret is sealed at rest with the keyring's `totp` system key, bound to the user's id (a
sealed secret copied to another user's row does not open). A code is accepted once: the last
accepted time-step is stored, and only a later step is accepted, with an atomic conditional
UPDATE so two workers cannot both accept the same code. Recovery codes (80 random bits each)
are stored as SHA-256 hashes and consumed the same way.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from models.base import utcnow
from models.identity import RecoveryCode, User
from services.crypto import Keyring, open_sealed, seal
from services.crypto import totp as totp_codes

RECOVERY_CODE_COUNT = 10
TOTP_KEY_PURPOSE = "totp"


@dataclass(frozen=True)
class Enrolment:
    otpauth_uri: str
    secret: str
    """The same secret as base32, for typing into an app by hand."""
    recovery_codes: list[str]


def _aad(user_id: uuid.UUID) -> bytes:
    return b"users.totp_secret:" + user_id.bytes


def seal_secret(keyring: Keyring, user_id: uuid.UUID, secret: bytes) -> bytes:
    return seal(keyring.system_key(TOTP_KEY_PURPOSE), secret, _aad(user_id))


def open_secret(keyring: Keyring, user: User) -> bytes | None:
    if user.totp_secret is None:
        return None
    return open_sealed(keyring.system_key(TOTP_KEY_PURPOSE), user.totp_secret, _aad(user.id))


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def recovery_code_hash(code: str) -> str:
    return hashlib.sha256(normalise_recovery_code(code).encode("ascii", "ignore")).hexdigest()


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii")  # 16 characters, 80 bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def start_enrolment(session: Session, keyring: Keyring, user: User, *, issuer: str) -> Enrolment:
    """A new pending secret and fresh recovery codes (replacing any earlier, unconfirmed ones)."""
    secret = totp_codes.new_secret()
    user.totp_secret = seal_secret(keyring, user.id, secret)
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=recovery_code_hash(c)) for c in codes)
    session.flush()
    return Enrolment(
        otpauth_uri=totp_codes.provisioning_uri(secret, account_name=user.username, issuer=issuer),
        secret=base64.b32encode(secret).decode("ascii"),
        recovery_codes=codes,
    )


def consume_code(session: Session, keyring: Keyring, user: User, code: str) -> bool:
    """Accept `code` once: it matches a step within one of now, and that step is later than the
    last accepted one. Atomic across workers (conditional UPDATE)."""
    secret = open_secret(keyring, user)
    if secret is None:
        return False
    step = totp_codes.matching_step(secret, code.strip(), time.time())
    if step is None:
        return False
    result = session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return False
    session.refresh(user, ["totp_last_step"])
    return True


def consume_recovery_code(session: Session, user: User, code: str) -> bool:
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == recovery_code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


def remaining_recovery_codes(session: Session, user_id: uuid.UUID) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def clear(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()
