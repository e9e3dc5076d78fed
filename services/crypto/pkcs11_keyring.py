"""The keyring in a hardware security module, over PKCS#11 (`HAVEN_KEYRING=pkcs11`).

What the token holds (all token objects, private, labelled `haven-…`, or with the prefix set by
`HAVEN_PKCS11_KEY_PREFIX`, so that a staging and a production deployment, or tests, can share a
token without touching each other's keys):
- one AES-256 key-encryption key per KEK version (`haven-kek-v<N>`), generated inside the token,
  sensitive and never extractable: data keys are wrapped and unwrapped by the token itself
  (AES-GCM inside the module, the KEK version bound in as associated data), so a KEK never exists
  in Haven's memory. A new version (`haven keys rotate`) is generated the same way; a retired one
  is destroyed in the token and leaves a `haven-kek-retired-v<N>` marker, so numbers are never
  reused and "retired" can be told from "missing".
- the blind-index root, the system root and the audit signing seed, as one data object
  (`haven-secrets`) sealed by a second non-extractable AES key (`haven-secrets-key`) that never
  leaves the token. Each process opens it once at start and derives the per-purpose keys in
  memory, as the file keyring does. They are wrapped rather than used inside the token for two
  reasons: they must stay byte-for-byte the keys the data was written with when a deployment moves
  from the key file to the token (every blind-index token, client-secret HMAC, sealed TOTP secret
  and checkpoint signature depends on them), and they are used many times per request (a search
  computes dozens of blind-index tokens), which would cost a token round trip each. What a thief
  of the database, of a backup or of a token backup without the PIN gets is the same as for data
  keys: nothing usable.

Unwrapping costs a round trip to the token, so unwrapped data keys are kept in a small
per-process cache (`DekCache`, bounded in size and age). The cache is consulted only after the
caller has read the data key's row from the database (`services.crypto.data_keys`), and an erased
case's row holds no wrapped key any more, so erasure takes effect at once on every process: the
cached key is simply never asked for again, and ages out.

A deployment moving from the key file keeps `HAVEN_KEY_FILE` during the move (`haven keys
migrate-to-pkcs11`): versions the token does not hold are unwrapped with the file, new keys are
wrapped by the token as soon as it holds a KEK, and the file's KEKs are retired at the end.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import (
    EncryptedDataInvalid,
    EncryptedDataLenRange,
    GeneralError,
    NoSuchToken,
    PKCS11Error,
    UserAlreadyLoggedIn,
)
from pkcs11.mechanisms import GCMParams

from services.config import Settings
from services.crypto.envelope import KEY_BYTES
from services.crypto.errors import DecryptionError, KeyringError, KeyringUnavailable
from services.crypto.keyring import (
    LocalFileKeyring,
    WrappedKey,
    _wrap_aad,
    hkdf,
)
from services.crypto.signing import new_signing_seed, public_key_of, sign_with_seed

DEFAULT_PREFIX = "haven"


@dataclass(frozen=True)
class Labels:
    """The labels of one Haven keyring's objects in a token (`HAVEN_PKCS11_KEY_PREFIX`)."""

    prefix: str = DEFAULT_PREFIX

    @property
    def kek(self) -> str:
        return f"{self.prefix}-kek-v"

    @property
    def retired(self) -> str:
        return f"{self.prefix}-kek-retired-v"

    @property
    def secrets_key(self) -> str:
        return f"{self.prefix}-secrets-key"

    @property
    def secrets(self) -> str:
        return f"{self.prefix}-secrets"


_SECRETS_AAD = b"haven.pkcs11-secrets.format=1"
NONCE_BYTES = 12
VERSION_REFRESH_SECONDS = 1.0
"""How stale this process's list of KEK versions may be when it wraps (a rotation elsewhere)."""

_DECRYPT_FAILURES = (EncryptedDataInvalid, EncryptedDataLenRange, GeneralError)
"""What a token answers to a ciphertext that does not authenticate (SoftHSM: GeneralError)."""


@dataclass(frozen=True)
class Roots:
    """The keys that are not KEKs: the same in the key file and in the token."""

    index_root: bytes
    system_root: bytes
    signing_seed: bytes

    @staticmethod
    def new() -> Roots:
        return Roots(os.urandom(KEY_BYTES), os.urandom(KEY_BYTES), new_signing_seed())

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "index_root": base64.b64encode(self.index_root).decode(),
                "system_root": base64.b64encode(self.system_root).decode(),
                "signing_key": base64.b64encode(self.signing_seed).decode(),
            }
        ).encode()

    @staticmethod
    def from_bytes(data: bytes) -> Roots:
        raw = json.loads(data)
        return Roots(
            base64.b64decode(raw["index_root"]),
            base64.b64decode(raw["system_root"]),
            base64.b64decode(raw["signing_key"]),
        )


class DekCache:
    """Unwrapped data keys by wrapped blob: at most `size` entries, each for `seconds`."""

    def __init__(self, size: int = 2048, seconds: float = 60.0) -> None:
        self.size, self.seconds = size, seconds
        self._items: OrderedDict[tuple[int, bytes], tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, wrapped: WrappedKey) -> bytes | None:
        key = (wrapped.kek_version, wrapped.blob)
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] < time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, wrapped: WrappedKey, dek: bytes) -> None:
        with self._lock:
            self._items[(wrapped.kek_version, wrapped.blob)] = (
                time.monotonic() + self.seconds,
                dek,
            )
            self._items.move_to_end((wrapped.kek_version, wrapped.blob))
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


# --- the token ---------------------------------------------------------------------------------

_LIBRARIES: dict[str, Any] = {}
_LIBRARIES_LOCK = threading.Lock()
_CALL_LOCKS: dict[str, threading.RLock] = {}
"""One lock per loaded library: every call into it, from any session of this process, runs under
it. The binding initialises the library without asking for OS locking, so two sessions used from
two threads at once (a rotation beside a serving keyring) crashed SoftHSM with a segfault."""


def _call_lock(module: Path) -> threading.RLock:
    path = str(Path(module).expanduser().resolve())
    with _LIBRARIES_LOCK:
        return _CALL_LOCKS.setdefault(path, threading.RLock())


def _library(module: Path) -> Any:
    """One loaded PKCS#11 library per path and process (a library may be initialised once)."""
    path = str(Path(module).expanduser().resolve())
    with _LIBRARIES_LOCK:
        if path not in _LIBRARIES:
            if not Path(path).is_file():
                raise KeyringError(f"PKCS#11 module {path} does not exist (HAVEN_PKCS11_MODULE)")
            try:
                _LIBRARIES[path] = pkcs11.lib(path)
            except (PKCS11Error, OSError, RuntimeError) as error:
                raise KeyringError(f"PKCS#11 module {path} cannot be loaded: {error!r}") from None
        return _LIBRARIES[path]


def read_pin(settings: Settings) -> str:
    if settings.pkcs11_pin is not None:
        return settings.pkcs11_pin.get_secret_value()
    path = settings.pkcs11_pin_file
    if path is None:
        raise KeyringError("HAVEN_KEYRING=pkcs11 needs HAVEN_PKCS11_PIN or HAVEN_PKCS11_PIN_FILE")
    try:
        info = os.stat(path)
        if info.st_mode & 0o077:
            raise KeyringError(
                f"PIN file {path} is accessible by group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); run `chmod 600 {path}`"
            )
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise KeyringError(f"PIN file {path} cannot be read: {error.strerror}") from None
    if not lines or not lines[0].strip():
        raise KeyringError(f"PIN file {path} is empty")
    return lines[0].strip()


class Token:
    """One logged-in read/write session on the token, shared by the process's threads under a
    lock (a PKCS#11 session runs one operation at a time)."""

    def __init__(self, module: Path, label: str, pin: str, labels: Labels | None = None) -> None:
        self.label = label
        self.labels = labels or Labels()
        try:
            token = _library(module).get_token(token_label=label)
        except NoSuchToken:
            raise KeyringError(
                f"no PKCS#11 token labelled {label!r} in {module} (HAVEN_PKCS11_TOKEN)"
            ) from None
        self._token = token
        self._pin = pin
        self._lock = _call_lock(module)
        self._session: Any = self._open()
        self.generation = 0
        """Bumped when the session is reopened: key objects found before must be found again."""

    def _open(self) -> Any:
        try:
            return self._token.open(rw=True, user_pin=self._pin)
        except UserAlreadyLoggedIn:
            # Login is per process: another session of this process (another keyring object on
            # the same token) has logged in already, and this session shares that login.
            return self._token.open(rw=True)
        except PKCS11Error as error:
            raise KeyringError(
                f"cannot log in to PKCS#11 token {self.label!r}: {type(error).__name__}"
            ) from None

    @contextmanager
    def session(self) -> Iterator[Any]:
        with self._lock:
            try:
                yield self._session
            except (DecryptionError, KeyringError):
                raise
            except _DECRYPT_FAILURES:
                raise
            except PKCS11Error as error:
                # A session the token dropped (restart, network HSM failover): reopen once for
                # the next call; this call reports the token as unavailable.
                try:
                    self._session = self._open()
                    self.generation += 1
                except KeyringError:
                    pass
                raise KeyringUnavailable(
                    f"PKCS#11 token {self.label!r} failed: {type(error).__name__}"
                ) from None

    def close(self) -> None:
        with self._lock, suppress(PKCS11Error):
            self._session.close()

    # --- objects ----------------------------------------------------------------------------
    def find(self, object_class: ObjectClass, prefix: str) -> dict[str, Any]:
        """Haven's objects of one class whose label starts with `prefix`, by label."""
        with self.session() as session:
            found = {}
            for obj in session.get_objects({Attribute.CLASS: object_class}):
                label = obj[Attribute.LABEL]
                if isinstance(label, str) and label.startswith(prefix):
                    found[label] = obj
            return found

    def has_secret_key(self, label: str) -> bool:
        with self.session() as session:
            found = session.get_objects(
                {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: label}
            )
            return bool(list(found))  # read to the end: an open search blocks the session

    def generate_aes_key(self, label: str, created_at: str) -> Any:
        """An AES-256 key generated inside the token, never extractable, encrypt/decrypt only."""
        with self.session() as session:
            return session.generate_key(
                KeyType.AES,
                256,
                label=label,
                id=f"{label};created={created_at}".encode(),
                store=True,
                template={
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.ENCRYPT: True,
                    Attribute.DECRYPT: True,
                    Attribute.WRAP: False,
                    Attribute.UNWRAP: False,
                    Attribute.SIGN: False,
                    Attribute.VERIFY: False,
                    Attribute.DERIVE: False,
                },
            )

    def create_data(self, label: str, value: bytes) -> None:
        with self.session() as session:
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.DATA,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.LABEL: label,
                    Attribute.APPLICATION: "haven",
                    Attribute.VALUE: value,
                }
            )

    def gcm_encrypt(self, key: Any, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        with self.session() as session:
            del session  # the key object belongs to the session held under the lock
            sealed = key.encrypt(
                plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad)
            )
        return nonce + bytes(sealed)

    def gcm_decrypt(self, key: Any, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < NONCE_BYTES + 16:
            raise DecryptionError("wrapped key is truncated")
        nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        try:
            with self.session():
                return bytes(
                    key.decrypt(
                        sealed, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad)
                    )
                )
        except _DECRYPT_FAILURES:
            raise DecryptionError(
                "ciphertext does not authenticate (wrong key, or tampered)"
            ) from None


@dataclass(frozen=True)
class KeyCustody:
    """What the token says about a key: how it is protected."""

    sensitive: bool
    extractable: bool
    never_extractable: bool
    generated_in_token: bool
    value_readable: bool


def _custody_of(key: Any) -> KeyCustody:
    try:
        key[Attribute.VALUE]
        readable = True
    except PKCS11Error:
        readable = False
    return KeyCustody(
        sensitive=bool(key[Attribute.SENSITIVE]),
        extractable=bool(key[Attribute.EXTRACTABLE]),
        never_extractable=bool(key[Attribute.NEVER_EXTRACTABLE]),
        generated_in_token=bool(key[Attribute.LOCAL]),
        value_readable=readable,
    )


def _version_of(label: str, prefix: str) -> int | None:
    tail = label.removeprefix(prefix)
    return int(tail) if label.startswith(prefix) and tail.isdigit() else None


def _created_at(key: Any) -> datetime | None:
    try:
        raw = bytes(key[Attribute.ID]).decode("ascii", "replace")
    except PKCS11Error:
        return None
    _, _, value = raw.partition(";created=")
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Pkcs11Keyring:
    """The `Keyring` on a PKCS#11 token (see the module docstring)."""

    def __init__(
        self,
        token: Token,
        *,
        legacy: LocalFileKeyring | None = None,
        cache: DekCache | None = None,
    ) -> None:
        self.token = token
        self.legacy = legacy
        """The key file during a move to the token (`haven keys migrate-to-pkcs11`), else None."""
        self.cache = cache if cache is not None else DekCache()
        self._keks: dict[int, Any] = {}
        self._retired: set[int] = set()
        self._listed_at = 0.0
        self._generation = -1
        self._lock = threading.Lock()
        self._refresh_versions()
        self._roots = self._load_roots()

    # --- token state ------------------------------------------------------------------------
    def _refresh_versions(self) -> None:
        generation = self.token.generation
        keks = {}
        names = self.token.labels
        for label, key in self.token.find(ObjectClass.SECRET_KEY, names.kek).items():
            version = _version_of(label, names.kek)
            if version is not None:
                keks[version] = key
        retired = {
            v
            for label in self.token.find(ObjectClass.DATA, names.retired)
            if (v := _version_of(label, names.retired)) is not None
        }
        with self._lock:
            self._keks, self._retired, self._listed_at = keks, retired, time.monotonic()
            self._generation = generation

    def _refresh_if_stale(self) -> None:
        if (
            self._generation != self.token.generation
            or time.monotonic() - self._listed_at >= VERSION_REFRESH_SECONDS
        ):
            self._refresh_versions()

    def _load_roots(self) -> Roots:
        names = self.token.labels
        sealed = self.token.find(ObjectClass.DATA, names.secrets).get(names.secrets)
        key = self.token.find(ObjectClass.SECRET_KEY, names.secrets_key).get(names.secrets_key)
        if sealed is None or key is None:
            if self.legacy is not None:
                return Roots(
                    self.legacy.blind_index_root(),
                    self.legacy.system_root(),
                    self.legacy.signing_seed(),
                )
            raise KeyringError(
                f"PKCS#11 token {self.token.label!r} holds no Haven keys. They are created by "
                "`haven migrate` on a database holding no data yet, or moved from a key file by "
                "`haven keys migrate-to-pkcs11`."
            )
        with self.token.session():
            value = bytes(sealed[Attribute.VALUE])
        roots = Roots.from_bytes(self.token.gcm_decrypt(key, value, _SECRETS_AAD))
        if self.legacy is not None and (
            self.legacy.blind_index_root(),
            self.legacy.system_root(),
            self.legacy.signing_seed(),
        ) != (roots.index_root, roots.system_root, roots.signing_seed):
            raise KeyringError(
                f"the key file {self.legacy.path} and the PKCS#11 token {self.token.label!r} "
                "hold different keyrings; refusing to use them together"
            )
        return roots

    def holds_keys(self) -> bool:
        return bool(self._keks or self._retired) or bool(
            self.token.find(ObjectClass.DATA, self.token.labels.secrets)
        )

    # --- set-up (haven migrate, haven keys migrate-to-pkcs11) -------------------------------
    @staticmethod
    def initialise(token: Token, roots: Roots, *, first_version: int) -> None:
        """Store `roots` sealed in the token and generate KEK `first_version`; each step only
        if not done yet, so an interrupted set-up is completed by running it again."""
        names = token.labels
        if not token.find(ObjectClass.SECRET_KEY, names.secrets_key):
            token.generate_aes_key(names.secrets_key, _now())
        if not token.find(ObjectClass.DATA, names.secrets):
            key = token.find(ObjectClass.SECRET_KEY, names.secrets_key)[names.secrets_key]
            token.create_data(names.secrets, token.gcm_encrypt(key, roots.to_bytes(), _SECRETS_AAD))
        if not token.find(ObjectClass.SECRET_KEY, names.kek):
            token.generate_aes_key(f"{names.kek}{first_version}", _now())

    # --- the Keyring interface --------------------------------------------------------------
    def _legacy_versions(self) -> list[int]:
        return self.legacy.kek_versions() if self.legacy is not None else []

    def current_kek_version(self) -> int:
        self._refresh_if_stale()
        if self._keks:
            return max(self._keks)
        if self.legacy is not None:
            return self.legacy.current_kek_version()
        raise KeyringError(f"PKCS#11 token {self.token.label!r} holds no key-encryption key")

    def kek_versions(self) -> list[int]:
        self._refresh_versions()
        return sorted({*self._keks, *self._legacy_versions()})

    def holds_kek_version(self, version: int) -> bool:
        """Asked of the token each time: `create_data_key` relies on it to notice that a KEK
        was retired while it waited (one search by label)."""
        if self.legacy is not None and self.legacy.holds_kek_version(version):
            return True
        return self.token.has_secret_key(f"{self.token.labels.kek}{version}")

    def wrap_data_key(self, dek: bytes) -> WrappedKey:
        if len(dek) != KEY_BYTES:
            raise ValueError("a data key must be 32 bytes")
        self._refresh_if_stale()
        keks = self._keks
        if not keks:
            if self.legacy is not None:
                return self.legacy.wrap_data_key(dek)
            raise KeyringError(f"PKCS#11 token {self.token.label!r} holds no key-encryption key")
        version = max(keks)
        wrapped = WrappedKey(
            version, self.token.gcm_encrypt(keks[version], dek, _wrap_aad(version))
        )
        self.cache.put(wrapped, dek)
        return wrapped

    def unwrap_data_key(self, wrapped: WrappedKey) -> bytes:
        cached = self.cache.get(wrapped)
        if cached is not None:
            return cached
        if self._generation != self.token.generation:
            self._refresh_versions()
        kek = self._keks.get(wrapped.kek_version)
        if (
            kek is None
            and self.legacy is not None
            and wrapped.kek_version in self._legacy_versions()
        ):
            return self.legacy.unwrap_data_key(wrapped)
        if kek is None:
            self._refresh_versions()  # a rotation in another process may have added it
            kek = self._keks.get(wrapped.kek_version)
        if kek is None:
            if self.legacy is not None and wrapped.kek_version in self._legacy_versions():
                return self.legacy.unwrap_data_key(wrapped)
            gone = wrapped.kek_version in self.retired_kek_versions()
            raise KeyringError(
                f"data key is wrapped under KEK version {wrapped.kek_version}, "
                + (
                    "which has been retired (destroyed)"
                    if gone
                    else f"which the PKCS#11 token {self.token.label!r} does not hold"
                )
            )
        dek = self._open_with(kek, wrapped)
        self.cache.put(wrapped, dek)
        return dek

    def _open_with(self, kek: Any, wrapped: WrappedKey) -> bytes:
        dek = self.token.gcm_decrypt(kek, wrapped.blob, _wrap_aad(wrapped.kek_version))
        if len(dek) != KEY_BYTES:
            raise DecryptionError("unwrapped data key has the wrong length")
        return dek

    def _unwrap_in_token(self, wrapped: WrappedKey) -> bytes:
        kek = self._keks.get(wrapped.kek_version)
        if kek is None:
            raise KeyringError(
                f"data key is wrapped under KEK version {wrapped.kek_version}, "
                f"which the PKCS#11 token {self.token.label!r} does not hold"
            )
        return self._open_with(kek, wrapped)

    def add_kek_version(self) -> int:
        self._refresh_versions()
        known = [*self._keks, *self._retired, *self._legacy_versions()]
        if self.legacy is not None:
            known += self.legacy.retired_kek_versions()
        version = max(known, default=0) + 1  # never reuse a number, the file's included
        self.token.generate_aes_key(f"{self.token.labels.kek}{version}", _now())
        self._refresh_versions()
        return version

    def kek_added_at(self, version: int) -> datetime | None:
        key = self._keks.get(version)
        if key is None:
            return self.legacy.kek_added_at(version) if self.legacy is not None else None
        with self.token.session():
            return _created_at(key)

    def retired_kek_versions(self) -> list[int]:
        self._refresh_if_stale()
        legacy = self.legacy.retired_kek_versions() if self.legacy is not None else []
        return sorted({*self._retired, *legacy})

    def retire_kek_versions(self, versions: list[int]) -> list[int]:
        """Destroy these KEK versions (the token's, and during a move the file's); never the
        current one. The caller makes sure no live data key still uses them."""
        self._refresh_versions()
        current = self.current_kek_version()
        if current in versions:
            raise KeyringError("the current KEK version cannot be retired")
        done: list[int] = []
        for version in sorted(set(versions) & set(self._keks)):
            with self.token.session():
                self._keks[version].destroy()
            self.token.create_data(f"{self.token.labels.retired}{version}", _now().encode())
            done.append(version)
        if self.legacy is not None:
            done += self.legacy.retire_all_kek_versions(
                [v for v in versions if v in self._legacy_versions()]
            )
        self._refresh_versions()
        self.cache.clear()
        return sorted(done)

    def system_key(self, purpose: str) -> bytes:
        if not purpose:
            raise ValueError("a system key needs a purpose")
        return hkdf(self._roots.system_root, b"haven.system:" + purpose.encode("utf-8"))

    def blind_index_key(self, field: str) -> bytes:
        if not field:
            raise ValueError("a blind-index key needs a field name")
        return hkdf(self._roots.index_root, b"haven.blind-index:" + field.encode("utf-8"))

    def sign(self, message: bytes) -> bytes:
        return sign_with_seed(self._roots.signing_seed, message)

    def signing_public_key(self) -> bytes:
        return public_key_of(self._roots.signing_seed)

    def kek_custody(self, version: int) -> KeyCustody:
        """How the token protects KEK `version` (for `haven keys status` and the tests)."""
        self._refresh_versions()
        key = self._keks.get(version)
        if key is None:
            raise KeyringError(f"the token holds no KEK version {version}")
        with self.token.session():
            return _custody_of(key)

    # --- for ProvenKeyring ------------------------------------------------------------------
    def refresh(self) -> None:
        self._refresh_versions()
        if self.legacy is not None:
            self.legacy.refresh()

    @property
    def adoption_check(self) -> Callable[[Callable[[WrappedKey], bytes]], None] | None:
        return self.legacy.adoption_check if self.legacy is not None else None

    @adoption_check.setter
    def adoption_check(self, check: Callable[[Callable[[WrappedKey], bytes]], None] | None) -> None:
        if self.legacy is None:
            return
        if check is None:
            self.legacy.adoption_check = None
            return
        prove = check

        def with_the_token(unwrap_file: Callable[[WrappedKey], bytes]) -> None:
            # A changed key file is proven together with the token: once keys have moved to
            # the token, the file alone could not (and need not) unwrap them.
            def unwrap(wrapped: WrappedKey) -> bytes:
                if wrapped.kek_version not in self._keks:
                    self._refresh_versions()  # the token only: the file is being proven
                if wrapped.kek_version in self._keks:
                    return self._unwrap_in_token(wrapped)
                return unwrap_file(wrapped)

            prove(unwrap)

        self.legacy.adoption_check = with_the_token


def destroy_token_keyring(settings: Settings) -> int:
    """Destroy every object of the keyring `settings` name in the token (all its KEKs and its
    sealed roots): whatever was encrypted under it is gone for good. For taking a test or staging
    keyring down; returns how many objects were destroyed."""
    token = open_token(settings)
    try:
        found = [
            obj
            for kind in (ObjectClass.SECRET_KEY, ObjectClass.DATA)
            for obj in token.find(kind, f"{token.labels.prefix}-").values()
        ]
        with token.session():
            for obj in found:
                obj.destroy()
        return len(found)
    finally:
        token.close()


def token_holds_keys(settings: Settings) -> bool:
    """Whether the configured token holds any of Haven's objects."""
    token = open_token(settings)
    try:
        return any(
            token.find(kind, f"{token.labels.prefix}-")
            for kind in (ObjectClass.SECRET_KEY, ObjectClass.DATA)
        )
    finally:
        token.close()


def create_token_keyring(settings: Settings) -> None:
    """A new keyring in the token: fresh roots and KEK version 1 (for `haven migrate`)."""
    token = open_token(settings)
    try:
        Pkcs11Keyring.initialise(token, Roots.new(), first_version=1)
    finally:
        token.close()


def open_token(settings: Settings) -> Token:
    if settings.pkcs11_module is None or not settings.pkcs11_token:
        raise KeyringError("HAVEN_KEYRING=pkcs11 needs HAVEN_PKCS11_MODULE and HAVEN_PKCS11_TOKEN")
    return Token(
        settings.pkcs11_module,
        settings.pkcs11_token,
        read_pin(settings),
        Labels(settings.pkcs11_key_prefix),
    )


def load_pkcs11_keyring(settings: Settings) -> Pkcs11Keyring:
    """The token's keyring; with the key file beside it while a move is under way."""
    legacy = None
    if settings.key_file.expanduser().exists():
        legacy = LocalFileKeyring(settings.key_file, allow_handed_over=True)
    return Pkcs11Keyring(open_token(settings), legacy=legacy)
