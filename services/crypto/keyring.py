"""The keyring: key-encryption keys (KEKs), the blind-index root, the system root, the signing key.

`Keyring` is the interface the rest of Haven uses; `LocalFileKeyring` keeps the keys in one JSON
file (`HAVEN_KEY_FILE`), and a hardware security module implements the same Protocol in
`services.crypto.pkcs11_keyring`. A running process holds its keyring behind
`services.crypto.custody.ProvenKeyring`, which refuses to use it until it has been proven against
the database.

The local file:
- is created only by an explicit step (`haven migrate` on a database holding no data keys, through
  `init_keyring`), never by loading it: a process that finds no key file refuses to start, since a
  fresh keyring beside existing data would write new cases under keys nobody else has;
- is created with mode 0600 (its folder 0700), written to a temporary file, fsync'd and renamed
  into place, so a crash never leaves half a keyring;
- is refused (`KeyringError`) when group or others have any permission on it, when it or its
  folder belongs to another user, or when others may write to its folder (they could swap it);
- is changed only under an exclusive `fcntl` lock on `<key file>.lock`, re-read under the lock,
  so two processes adding a KEK version at once get two versions, never a lost one;
- is re-read by a running process when it changes on disk (checked with one `stat` before each
  wrap, and whenever an unwrap meets a version this process has not seen), so server workers pick
  up a rotation's new KEK without a restart. A changed file is adopted only after
  `adoption_check` (installed by `ProvenKeyring`) has proven it against the database, so a
  keyring swapped under a running server is refused, not used: the process logs an error and
  goes on with the keys it had adopted (the ones the data was written with), and proves the file
  again only when it changes again. Changing the keyring (a new KEK, retiring one) still refuses
  while the file on disk is one that failed its proof.

Old KEK versions are kept: a data key wrapped under any version the file holds can be unwrapped.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.config import Settings
from services.crypto.envelope import KEY_BYTES, gcm_decrypt, gcm_encrypt
from services.crypto.errors import (
    DecryptionError,
    KeyringError,
    KeyringMismatch,
    KeyringUnavailable,
)
from services.crypto.signing import new_signing_seed, public_key_of, sign_with_seed

log = logging.getLogger("haven.keyring")

FILE_FORMAT = 1
_WRAP_PURPOSE = b"haven.dek-wrap.kek-version="


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted under one KEK version; the version travels with the blob."""

    kek_version: int
    blob: bytes


@runtime_checkable
class Keyring(Protocol):
    """What Haven needs from a key store (local file now, an external KMS later)."""

    def current_kek_version(self) -> int: ...
    def kek_versions(self) -> list[int]: ...
    def holds_kek_version(self, version: int) -> bool: ...
    def wrap_data_key(self, dek: bytes) -> WrappedKey: ...
    def unwrap_data_key(self, wrapped: WrappedKey) -> bytes: ...
    def add_kek_version(self) -> int: ...
    def kek_added_at(self, version: int) -> datetime | None: ...
    def retired_kek_versions(self) -> list[int]: ...
    def retire_kek_versions(self, versions: list[int]) -> list[int]: ...
    def system_key(self, purpose: str) -> bytes: ...
    def blind_index_key(self, field: str) -> bytes: ...
    def sign(self, message: bytes) -> bytes: ...
    def signing_public_key(self) -> bytes: ...


def hkdf(root: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869) of a 32-byte root key, 32 bytes out, one `info` per purpose."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(root)


def _wrap_aad(version: int) -> bytes:
    return _WRAP_PURPOSE + str(version).encode("ascii")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise KeyringError(f"keyring entry {what} is missing or not a string")
    try:
        data = base64.b64decode(text, validate=True)
    except ValueError:
        raise KeyringError(f"keyring entry {what} is not valid base64") from None
    if len(data) != KEY_BYTES:
        raise KeyringError(f"keyring entry {what} is not a 32-byte key")
    return data


@dataclass(frozen=True)
class _Material:
    keks: dict[int, bytes]
    current: int
    index_root: bytes
    system_root: bytes
    signing_seed: bytes
    added_at: dict[int, datetime | None]
    retired: dict[int, str]
    raw: dict[str, Any]


HANDED_OVER = "handed_over_to"
"""Set in a key file whose KEKs were all moved to a token and retired: it holds no KEK."""


def _parse(raw: object, path: Path, *, allow_handed_over: bool = False) -> _Material:
    if not isinstance(raw, dict) or raw.get("haven_keyring") != FILE_FORMAT:
        raise KeyringError(f"{path} is not a Haven keyring (format {FILE_FORMAT})")
    entries = raw.get("keks")
    handed_over = raw.get(HANDED_OVER)
    if handed_over and not allow_handed_over:
        raise KeyringError(
            f"the keys of {path} were moved to a {handed_over} token and retired here; "
            f"set HAVEN_KEYRING={handed_over}"
        )
    if not isinstance(entries, list) or not (entries or handed_over):
        raise KeyringError(f"{path} holds no key-encryption keys")
    keks: dict[int, bytes] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("version"), int):
            raise KeyringError(f"{path}: a KEK entry has no integer version")
        version = entry["version"]
        keks[version] = _unb64(entry.get("key"), f"kek {version}")
    current = raw.get("current_kek_version")
    if not isinstance(current, int) or (current not in keks and not handed_over):
        raise KeyringError(f"{path}: current_kek_version names no KEK in the file")
    retired: dict[int, str] = {}
    for entry in raw.get("retired") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("version"), int):
            raise KeyringError(f"{path}: a retired entry has no integer version")
        retired[entry["version"]] = str(entry.get("retired_at", ""))
    return _Material(
        keks=keks,
        current=current,
        added_at={e["version"]: _parse_time(e.get("created_at")) for e in entries},
        retired=retired,
        index_root=_unb64(raw.get("blind_index_root"), "blind_index_root"),
        system_root=_unb64(raw.get("system_root"), "system_root"),
        signing_seed=_unb64(raw.get("signing_key"), "signing_key"),
        raw=raw,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _new_file_content() -> dict[str, Any]:
    return {
        "haven_keyring": FILE_FORMAT,
        "created_at": _now(),
        "current_kek_version": 1,
        "keks": [{"version": 1, "key": _b64(os.urandom(KEY_BYTES)), "created_at": _now()}],
        "blind_index_root": _b64(os.urandom(KEY_BYTES)),
        "system_root": _b64(os.urandom(KEY_BYTES)),
        "signing_key": _b64(new_signing_seed()),
    }


def _check_permissions(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise KeyringError(f"key file {path} is not a regular file")
    if info.st_mode & 0o077:
        raise KeyringError(
            f"key file {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); refusing to start. "
            f"Run `chmod 600 {path}` and check who could have copied it."
        )
    if info.st_uid != os.geteuid():
        raise KeyringError(
            f"key file {path} belongs to user id {info.st_uid}, not to the user Haven runs as "
            f"({os.geteuid()}); refusing to start. Whoever owns it can change or replace it."
        )


def _check_folder(folder: Path) -> None:
    """Whoever may write to the key file's folder may swap the key file itself (rename over it),
    whatever the file's own mode: the folder must belong to us (or root) and be writable by
    nobody else."""
    try:
        info = os.stat(folder)
    except OSError as error:
        raise KeyringError(
            f"the key file's folder {folder} cannot be read: {error.strerror}"
        ) from None
    if info.st_uid not in (os.geteuid(), 0):
        raise KeyringError(
            f"the key file's folder {folder} belongs to user id {info.st_uid}; refusing to start. "
            "Keep the keyring in a folder owned by the user Haven runs as (mode 0700)."
        )
    if info.st_mode & 0o022:
        raise KeyringError(
            f"the key file's folder {folder} is writable by group or others "
            f"(mode {stat.S_IMODE(info.st_mode):04o}), so the key file could be replaced; "
            f"refusing to start. Run `chmod 700 {folder}`."
        )


def _fingerprint(info: os.stat_result) -> tuple[int, int, int, int]:
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)


def _unwrap_with(material: _Material, wrapped: WrappedKey, where: Path) -> bytes:
    """Unwrap with this material only (no reload): also how a candidate file is proven."""
    kek = material.keks.get(wrapped.kek_version)
    if kek is None and wrapped.kek_version in material.retired:
        raise KeyringError(
            f"data key is wrapped under KEK version {wrapped.kek_version}, "
            "which has been retired (destroyed)"
        )
    if kek is None:
        raise KeyringError(
            f"data key is wrapped under KEK version {wrapped.kek_version}, "
            f"which the keyring {where} does not hold"
        )
    dek = gcm_decrypt(kek, wrapped.blob, _wrap_aad(wrapped.kek_version))
    if len(dek) != KEY_BYTES:
        raise DecryptionError("unwrapped data key has the wrong length")
    return dek


Unwrap = Callable[[WrappedKey], bytes]
AdoptionCheck = Callable[[Unwrap], None]
"""Proves a candidate keyring (given as its unwrap function) or raises `KeyringError`."""


class LocalFileKeyring:
    """The keyring kept in one local JSON file (see the module docstring)."""

    def __init__(
        self, path: Path, *, create: bool = False, allow_handed_over: bool = False
    ) -> None:
        self.path = Path(path).expanduser().resolve()
        self._allow_handed_over = allow_handed_over
        self._lock = threading.Lock()
        self._material: _Material
        self._seen: tuple[int, int, int, int] = (0, 0, 0, 0)
        self._refused: tuple[int, int, int, int] | None = None
        """The key file as last refused (see `_refuse`), so it is not proven on every use."""
        self.adoption_check: AdoptionCheck | None = None
        """Run on a changed key file before it is used (see `ProvenKeyring`)."""
        if create:
            self._create_file()
        elif not self.path.exists():
            raise KeyringError(
                f"key file {self.path} does not exist. A keyring is created only by "
                "`haven migrate` on a database that holds no data yet; for existing data, "
                "restore the keyring it was written with (HAVEN_KEY_FILE)."
            )
        self._reload(initial=True)

    # --- file handling ---------------------------------------------------------------------
    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _create_file(self) -> None:
        if self.path.exists():
            return
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise KeyringError(
                f"cannot create the key file's folder {self.path.parent}: {error}"
            ) from None
        _check_folder(self.path.parent)
        with self._file_lock():
            if not self.path.exists():  # another process may have won the race
                self._write(_new_file_content())

    def _write(self, content: dict[str, Any]) -> None:
        """Atomically replace the key file: temp file (0600) + fsync + rename + fsync folder."""
        data = json.dumps(content, indent=2, sort_keys=True).encode("utf-8") + b"\n"
        fd, tmp = tempfile.mkstemp(prefix=".keyring-", suffix=".tmp", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def _read(self) -> tuple[_Material, tuple[int, int, int, int]]:
        _check_folder(self.path.parent)
        try:
            with open(self.path, "rb") as handle:
                info = os.fstat(handle.fileno())
                _check_permissions(self.path, info)
                data = handle.read()
        except FileNotFoundError:
            raise KeyringUnavailable(f"key file {self.path} does not exist") from None
        except PermissionError:
            raise KeyringUnavailable(f"key file {self.path} is not readable by this user") from None
        except OSError as error:
            raise KeyringUnavailable(
                f"key file {self.path} cannot be read: {error.strerror}"
            ) from None
        try:
            raw = json.loads(data)
        except ValueError:
            raise KeyringError(f"key file {self.path} is not valid JSON") from None
        return _parse(raw, self.path, allow_handed_over=self._allow_handed_over), _fingerprint(info)

    def _check_candidate(self, material: _Material) -> None:
        """Prove a key file that changed on disk before using it (see the module docstring)."""
        if material.raw == self._material.raw:
            return
        current = self._material
        if (material.index_root, material.system_root, material.signing_seed) != (
            current.index_root,
            current.system_root,
            current.signing_seed,
        ):
            # A rotation or a retirement never changes these: this is another keyring.
            raise KeyringMismatch(
                f"key file {self.path} was replaced by a different keyring while Haven runs "
                "(its blind-index, system or signing keys changed); refusing to use it. "
                "Put the original key file back, or restart Haven to have the new one proven."
            )
        check = self.adoption_check
        if check is not None:
            # On failure the error reaches the caller and the adopted keys stay as they were.
            check(lambda wrapped: _unwrap_with(material, wrapped, self.path))

    def _reload(self, *, initial: bool = False) -> None:
        material, seen = self._read()
        if not initial:
            try:
                self._check_candidate(material)
            except KeyringMismatch as error:
                self._refuse(seen, error)
                return
        with self._lock:
            self._material, self._seen, self._refused = material, seen, None

    def _refuse(self, seen: tuple[int, int, int, int], error: KeyringMismatch) -> None:
        """A changed key file failed its proof: keep serving with the keys adopted before (they
        are the ones the data was written with), say so loudly once for this version of the
        file, and do not prove the same file again on every key use. A file that changes again
        (the original put back, or a rotation) is proven afresh."""
        with self._lock:
            first = self._refused != seen
            self._refused = seen
        if first:
            log.error(
                "key file changed on disk and was REFUSED; still serving with the keys adopted "
                "before. Put the original key file back (a restart would refuse to start).",
                extra={"key_file": str(self.path), "reason": str(error)},
            )

    def _after_own_write(self) -> None:
        """Adopt what this process just wrote (from a base it had checked) without re-proving."""
        material, seen = self._read()
        with self._lock:
            self._material, self._seen = material, seen

    def _refresh_if_changed(self) -> None:
        try:
            info = os.stat(self.path)
        except OSError:
            raise KeyringUnavailable(f"key file {self.path} has disappeared") from None
        seen = _fingerprint(info)
        if seen not in (self._seen, self._refused):
            self._reload()

    def refresh(self) -> None:
        """Re-read the key file when it changed on disk (proving it first, see above)."""
        self._refresh_if_changed()

    def unwrap_with_loaded(self, wrapped: WrappedKey) -> bytes:
        """Unwrap with the keys this process has adopted, without looking at the file again
        (the start-up proof uses it: proving must not adopt a file that changed meanwhile)."""
        return _unwrap_with(self._material, wrapped, self.path)

    # --- the Keyring interface -------------------------------------------------------------
    def current_kek_version(self) -> int:
        self._refresh_if_changed()
        return self._material.current

    def kek_versions(self) -> list[int]:
        self._refresh_if_changed()
        return sorted(self._material.keks)

    def holds_kek_version(self, version: int) -> bool:
        self._refresh_if_changed()
        return version in self._material.keks

    def wrap_data_key(self, dek: bytes) -> WrappedKey:
        if len(dek) != KEY_BYTES:
            raise ValueError("a data key must be 32 bytes")
        self._refresh_if_changed()
        material = self._material
        version = material.current
        blob = gcm_encrypt(material.keks[version], dek, _wrap_aad(version))
        return WrappedKey(kek_version=version, blob=blob)

    def unwrap_data_key(self, wrapped: WrappedKey) -> bytes:
        if wrapped.kek_version not in self._material.keks:
            self._reload()  # a rotation in another process may have added it
        return _unwrap_with(self._material, wrapped, self.path)

    def add_kek_version(self) -> int:
        with self._file_lock():
            material, _ = self._read()  # the newest file, not our possibly stale copy
            self._check_candidate(material)
            version = max([*material.keks, *material.retired]) + 1  # never reuse a number
            content = dict(material.raw)
            content["keks"] = [
                *material.raw["keks"],
                {"version": version, "key": _b64(os.urandom(KEY_BYTES)), "created_at": _now()},
            ]
            content["current_kek_version"] = version
            self._write(content)
            self._after_own_write()
        return version

    def kek_added_at(self, version: int) -> datetime | None:
        self._refresh_if_changed()
        return self._material.added_at.get(version)

    def retired_kek_versions(self) -> list[int]:
        self._refresh_if_changed()
        return sorted(self._material.retired)

    def retire_kek_versions(self, versions: list[int]) -> list[int]:
        """Destroy these KEK versions in the key file (never the current one); returns those
        removed. Whoever calls this must first make sure no live data key still uses them."""
        with self._file_lock():
            material, _ = self._read()
            self._check_candidate(material)
            wanted = sorted(set(versions) & set(material.keks))
            if material.current in wanted:
                raise KeyringError("the current KEK version cannot be retired")
            if not wanted:
                return []
            content = dict(material.raw)
            content["keks"] = [e for e in material.raw["keks"] if e["version"] not in wanted]
            content["retired"] = [
                *(material.raw.get("retired") or []),
                *({"version": v, "retired_at": _now()} for v in wanted),
            ]
            self._write(content)
            self._after_own_write()
        return wanted

    def retire_all_kek_versions(self, versions: list[int]) -> list[int]:
        """During a move to a token: destroy these KEK versions, the current one included. When
        none is left the file is marked handed over, and only a token keyring opens it again
        (for its blind-index, system and signing keys, which the token holds too)."""
        with self._file_lock():
            material, _ = self._read()
            self._check_candidate(material)
            wanted = sorted(set(versions) & set(material.keks))
            if not wanted:
                return []
            content = dict(material.raw)
            content["keks"] = [e for e in material.raw["keks"] if e["version"] not in wanted]
            content["retired"] = [
                *(material.raw.get("retired") or []),
                *({"version": v, "retired_at": _now()} for v in wanted),
            ]
            if not content["keks"]:
                content[HANDED_OVER] = "pkcs11"
            self._write(content)
            self._after_own_write()
        return wanted

    # The roots, for moving them into a token (`haven keys migrate-to-pkcs11`) and checking that
    # a token and a key file used together hold the same keyring.
    def blind_index_root(self) -> bytes:
        return self._material.index_root

    def system_root(self) -> bytes:
        return self._material.system_root

    def signing_seed(self) -> bytes:
        return self._material.signing_seed

    def system_key(self, purpose: str) -> bytes:
        if not purpose:
            raise ValueError("a system key needs a purpose")
        return hkdf(self._material.system_root, b"haven.system:" + purpose.encode("utf-8"))

    def blind_index_key(self, field: str) -> bytes:
        if not field:
            raise ValueError("a blind-index key needs a field name")
        return hkdf(self._material.index_root, b"haven.blind-index:" + field.encode("utf-8"))

    def sign(self, message: bytes) -> bytes:
        return sign_with_seed(self._material.signing_seed, message)

    def signing_public_key(self) -> bytes:
        return public_key_of(self._material.signing_seed)

    def export_for_escrow(self) -> bytes:
        """The key file's exact bytes, for `haven backup` to encrypt to the recovery key at once
        (never to be written anywhere in the clear). Read under the file lock, so a rotation
        in progress is seen whole; a damaged file is refused rather than escrowed."""
        with self._file_lock(), open(self.path, "rb") as handle:
            data = handle.read()
        try:
            _parse(json.loads(data), self.path)
        except ValueError:
            raise KeyringError(f"key file {self.path} is not valid JSON") from None
        return data


def init_keyring(settings: Settings) -> LocalFileKeyring:
    """Create the key file (0600, folder 0700) when absent, then load it. Only `haven migrate`
    (after checking that the database holds no data keys) and tests call this."""
    return LocalFileKeyring(settings.key_file, create=True)


def load_keyring(settings: Settings) -> Keyring:
    """The configured keyring, never created here: refuses (`KeyringError`) a missing, damaged
    or unreadable key file, one that group or others may access, or one in a folder others may
    write to; with `HAVEN_KEYRING=pkcs11`, a token that cannot be opened or holds no Haven keys."""
    if settings.keyring == "pkcs11":
        from services.crypto.pkcs11_keyring import load_pkcs11_keyring

        return load_pkcs11_keyring(settings)
    return LocalFileKeyring(settings.key_file)
