"""`haven backup DIR`: what goes into a backup folder, in which order, and its manifest.

Order matters for consistency:
1. the audit checkpoint file is copied first (under its lock), so every checkpoint in the copy
   names an event the database snapshot also holds;
2. the database snapshot (SQLite online backup, or `pg_dump -Fc`);
3. the keyring, read after the snapshot, so it holds every key-encryption key the snapshot's
   data keys are wrapped under (a rotation during the backup only adds versions), encrypted at
   once to the recovery public key: its plaintext is never written anywhere;
4. `manifest.json`: what each file is, its SHA-256, the schema revision and versions.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from models.base import utcnow
from services.backup import database as db
from services.backup.escrow import EscrowError, EscrowExport, encrypt_to, parse_recipient
from services.config import Settings
from services.crypto import Keyring
from services.database import current_revision

MANIFEST = "manifest.json"
CHECKPOINTS = "audit-checkpoints.jsonl"
KEYRING_ESCROW = "keyring.json.age"
FORMAT = 1


class BackupError(Exception):
    """The backup was refused or failed; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    directory: Path
    manifest: dict[str, Any]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _prepare(directory: Path) -> None:
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} is not empty: give a new folder for each backup")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)


def _private(path: Path) -> None:
    path.chmod(0o600)


def _copy_checkpoints(source: Path, target: Path) -> bool:
    """Copy under a shared lock: the server appends under an exclusive one."""
    try:
        handle = source.open("rb")
    except FileNotFoundError:
        return False
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        try:
            with target.open("wb") as out:
                shutil.copyfileobj(handle, out)
                out.flush()
                os.fsync(out.fileno())
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    _private(target)
    return True


def escrow_export(keyring: Keyring) -> bytes:
    if not isinstance(keyring, EscrowExport):
        raise BackupError(
            "this keyring keeps its keys in a hardware token (PKCS#11): they cannot be "
            "escrowed in a file. Back the token up with its vendor's procedure (key backup or "
            "a second token); a database backup alone is useless without the token's key"
        )
    return keyring.export_for_escrow()


def make_backup(
    settings: Settings, engine: Engine, keyring: Keyring, directory: Path
) -> BackupResult:
    try:
        recipient = parse_recipient(settings.escrow_recipient)
    except EscrowError as error:
        raise BackupError(str(error)) from None
    if not isinstance(keyring, EscrowExport):
        escrow_export(keyring)  # raises with the explanation, before anything is written
    directory = directory.expanduser().resolve()
    _prepare(directory)
    try:
        return _write_backup(settings, engine, keyring, directory, recipient)
    except BaseException:
        # The folder was empty: leave nothing half-written that could pass for a backup.
        for leftover in directory.iterdir():
            leftover.unlink()
        raise


def _write_backup(
    settings: Settings,
    engine: Engine,
    keyring: Keyring,
    directory: Path,
    recipient: Any,
) -> BackupResult:
    files: dict[str, dict[str, str]] = {}

    checkpoints = directory / CHECKPOINTS
    if _copy_checkpoints(Path(settings.audit_checkpoint_file), checkpoints):
        files[CHECKPOINTS] = {"kind": "audit checkpoints"}

    url = db.database_url(settings.database_url)
    kind = db.backend(url)
    details: dict[str, str] = {}
    revision = current_revision(engine)
    if kind == "sqlite":
        snapshot = directory / db.SQLITE_FILE
        db.sqlite_snapshot(url, snapshot)
    else:
        snapshot = directory / db.POSTGRES_FILE
        try:
            details = db.postgres_snapshot(engine, url, snapshot)
        except db.SnapshotError as error:
            raise BackupError(str(error)) from None
    _private(snapshot)
    files[snapshot.name] = {"kind": f"{kind} database"}

    escrow = directory / KEYRING_ESCROW
    fd = os.open(escrow, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(encrypt_to(recipient, escrow_export(keyring)))
        out.flush()
        os.fsync(out.fileno())
    files[KEYRING_ESCROW] = {"kind": "keyring, age-encrypted to the recovery key"}

    for name, entry in files.items():
        entry["sha256"] = sha256_of(directory / name)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": utcnow().isoformat(timespec="seconds"),
        "backend": kind,
        "schema_revision": revision,
        "escrow_recipient": str(settings.escrow_recipient).strip(),
        "kek_versions": keyring.kek_versions(),
        "files": files,
        **details,
    }
    target = directory / MANIFEST
    target.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _private(target)
    return BackupResult(directory, manifest)
