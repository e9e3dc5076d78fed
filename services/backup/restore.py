"""`haven restore DIR --identity FILE`: bring a backup back, then prove it usable.

Into an empty database and an absent key file only: a restore never overwrites anything. The
checks afterwards are the point of the drill: the audit chain verifies against the restored
checkpoints, every live data key unwraps with the escrowed keyring, and a sample of cases
decrypts. Exit 0 only when all three hold.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from models.cases import Case
from models.db import READ_ONLY_OPTION, make_engine
from models.keys import DataKey
from services.audit.verify import verify_log
from services.backup import database as db
from services.backup.archive import CHECKPOINTS, KEYRING_ESCROW, MANIFEST, sha256_of
from services.backup.escrow import EscrowError, decrypt_with, read_identities
from services.cases.content import decrypt_document
from services.config import Settings
from services.crypto import DecryptionError, Keyring, KeyringError, WrappedKey

CASE_SAMPLE = 25
"""Cases decrypted by the check (the first by id, plus the newest): enough to show the data
keys and content belong together, quick on a large database."""


class RestoreError(Exception):
    """The restore was refused or failed before the checks; the message says why."""


@dataclass
class RestoreReport:
    events_checked: int = 0
    checkpoints_checked: int = 0
    chain_valid: bool = False
    chain_problem: str | None = None
    data_keys: int = 0
    data_keys_failed: int = 0
    cases_sampled: int = 0
    cases_failed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.chain_valid
            and self.data_keys_failed == 0
            and self.cases_failed == 0
            and not self.problems
        )


def read_manifest(directory: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text("utf-8"))
    except FileNotFoundError:
        raise RestoreError(f"{directory} holds no {MANIFEST}: not a Haven backup") from None
    except ValueError:
        raise RestoreError(f"{directory / MANIFEST} is damaged") from None
    for name, entry in manifest.get("files", {}).items():
        path = directory / name
        if not path.is_file():
            raise RestoreError(f"{name} is missing from the backup")
        if sha256_of(path) != entry.get("sha256"):
            raise RestoreError(f"{name} does not match its checksum: the backup is damaged")
    return manifest


def _write_new(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def restore_backup(  # noqa: C901  the drill is one linear sequence of checks
    settings: Settings, directory: Path, identity_file: Path
) -> dict[str, Any]:
    """Restore into the configured (empty) database and (absent) key file. Returns the manifest."""
    directory = directory.expanduser().resolve()
    manifest = read_manifest(directory)
    url = db.database_url(settings.database_url)
    kind = db.backend(url)
    if manifest.get("backend") != kind:
        raise RestoreError(
            f"this is a {manifest.get('backend')} backup; HAVEN_DATABASE_URL is {kind}"
        )
    key_file = Path(settings.key_file).expanduser()
    if key_file.exists():
        raise RestoreError(
            f"the key file {key_file} exists: restore needs HAVEN_KEY_FILE to name a new file"
        )
    checkpoint_file = Path(settings.audit_checkpoint_file).expanduser()
    if checkpoint_file.exists() and checkpoint_file.stat().st_size > 0:
        raise RestoreError(
            f"the checkpoint file {checkpoint_file} exists: restore needs "
            "HAVEN_AUDIT_CHECKPOINT_FILE to name a new file"
        )
    try:
        keyring_bytes = decrypt_with(
            read_identities(identity_file), (directory / KEYRING_ESCROW).read_bytes()
        )
    except EscrowError as error:
        raise RestoreError(str(error)) from None

    if kind == "sqlite" and Path(str(url.database)).exists():
        engine = make_engine(settings.database_url)
        try:
            empty = db.is_empty(engine)
        finally:
            engine.dispose()
        if not empty:
            raise RestoreError("the configured database is not empty: restore into a new one")
    if kind == "postgresql":
        engine = make_engine(settings.database_url)
        try:
            if not db.is_empty(engine):
                raise RestoreError("the configured database is not empty: restore into a new one")
            db.postgres_restore(engine, directory / db.POSTGRES_FILE, url)
        except db.SnapshotError as error:
            raise RestoreError(str(error)) from None
        finally:
            engine.dispose()
    else:
        db.sqlite_restore(directory / db.SQLITE_FILE, url)

    _write_new(key_file, keyring_bytes, 0o600)
    if (directory / CHECKPOINTS).exists():
        checkpoint_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(directory / CHECKPOINTS, checkpoint_file)
        checkpoint_file.chmod(0o640)
    return manifest


def check_restored(settings: Settings, engine: Engine, keyring: Keyring) -> RestoreReport:
    """The drill's proof: chain, data keys, a sample of cases."""
    report = RestoreReport()
    with engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as connection:
        chain = verify_log(connection, settings, keyring)
        report.chain_valid = chain.valid
        report.events_checked = chain.events_checked
        report.checkpoints_checked = chain.checkpoints_checked
        if not chain.valid:
            report.chain_problem = f"first_invalid_seq {chain.first_invalid_seq}: {chain.reason}"
        keys = connection.execute(
            select(DataKey.id, DataKey.kek_version, DataKey.wrapped_key).where(
                DataKey.wrapped_key.is_not(None)
            )
        )
        unwrapped: dict[Any, bytes] = {}
        for key_id, version, blob in keys:
            report.data_keys += 1
            if blob is None:  # pragma: no cover (filtered above)
                continue
            try:
                unwrapped[key_id] = keyring.unwrap_data_key(WrappedKey(version, blob))
            except (KeyringError, DecryptionError, ValueError):
                report.data_keys_failed += 1
        first = select(Case).order_by(Case.id).limit(CASE_SAMPLE)
        newest = select(Case).order_by(Case.created_at.desc()).limit(CASE_SAMPLE)
        sample = {case.id: case for stmt in (first, newest) for case in _cases(connection, stmt)}
        for case in sample.values():
            report.cases_sampled += 1
            try:
                decrypt_document(unwrapped[case.data_key_id], case)
            except Exception:  # noqa: BLE001  any failure to decrypt counts as a failed sample
                report.cases_failed += 1
        total = connection.execute(select(func.count()).select_from(Case)).scalar_one()
        if total and not report.cases_sampled:
            report.problems.append("no case could be sampled")
    return report


def _cases(connection: Any, statement: Any) -> list[Case]:
    from sqlalchemy.orm import Session

    with Session(bind=connection) as session:
        return list(session.scalars(statement))
