"""A keyring is used only once proven against the database, is never created by loading it, and
a key file changed under a running process is proven before it is adopted."""

from __future__ import annotations

import base64
import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from models.db import make_engine
from services.config import Settings
from services.crypto import (
    KeyringError,
    KeyringMismatch,
    KeyringNotProven,
    create_data_key,
    custody,
    init_keyring,
    load_data_key,
    load_keyring,
    new_data_key,
)
from services.crypto.custody import ProvenKeyring, prove_against_database
from services.crypto.keyring import Keyring, LocalFileKeyring
from services.database import migrate
from services.runtime import Runtime, build_runtime
from tests.keyrings import is_pkcs11

pytestmark = pytest.mark.skipif(
    is_pkcs11(), reason="the key file's custody; a token's is tested in tests/pkcs11"
)


def _replace_file(path: Path, content: bytes) -> None:
    """Swap the key file the way an operator's `cp`/`mv` would (a new inode, mode 0600)."""
    tmp = path.with_name(".swap.tmp")
    tmp.write_bytes(content)
    tmp.chmod(0o600)
    os.replace(tmp, path)


def _with_kek_replaced(path: Path, version: int) -> bytes:
    """The key file with one KEK version's key changed (same roots, same versions)."""
    content = json.loads(path.read_text())
    for entry in content["keks"]:
        if entry["version"] == version:
            entry["key"] = base64.b64encode(os.urandom(32)).decode()
    return json.dumps(content).encode()


def _keys(factory: sessionmaker[Session], keyring: Keyring, count: int) -> dict[uuid.UUID, bytes]:
    with factory() as session, session.begin():
        return dict(create_data_key(session, keyring) for _ in range(count))


# --- never created by loading --------------------------------------------------------------


def test_loading_a_missing_keyring_refuses_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "var" / "keyring.json"
    with pytest.raises(KeyringError, match="haven migrate"):
        load_keyring(Settings(key_file=path))
    assert not (tmp_path / "var").exists()


def test_a_runtime_never_creates_a_keyring(fresh_runtime: Runtime, tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "keyring.json"
    settings = fresh_runtime.settings.model_copy(update={"key_file": missing})
    with pytest.raises(KeyringError, match="does not exist"):
        build_runtime(settings)
    with pytest.raises(KeyringError, match="does not exist"):
        build_runtime(settings, prove=False)
    assert not missing.parent.exists()


# --- the proof covers every version in use, both ends of each ------------------------------


def test_the_proof_checks_every_kek_version_in_use(fresh_runtime: Runtime, tmp_path: Path) -> None:
    factory, keyring = fresh_runtime.session_factory, fresh_runtime.keyring
    _keys(factory, keyring, 3)
    keyring.add_kek_version()
    _keys(factory, keyring, 3)  # the database now holds keys under versions 1 and 2
    path = fresh_runtime.settings.key_file
    assert (
        prove_against_database(
            fresh_runtime.engine, load_keyring(fresh_runtime.settings).unwrap_data_key
        )
        == 4
    )

    for broken in (1, 2):  # checking only the newest version would have missed version 1
        copy = tmp_path / f"broken-{broken}" / "keyring.json"
        copy.parent.mkdir(mode=0o700)
        copy.write_bytes(_with_kek_replaced(path, broken))
        copy.chmod(0o600)
        settings = fresh_runtime.settings.model_copy(update={"key_file": copy})
        with pytest.raises(KeyringMismatch, match=f"KEK version {broken}"):
            build_runtime(settings)


def test_the_proof_checks_the_newest_and_the_oldest_key_of_a_version(
    fresh_runtime: Runtime, tmp_path: Path
) -> None:
    """A stray keyring that wrote keys under the same version number as the real one (what a
    keyring created by a start-up used to do) is caught from either side."""
    factory = fresh_runtime.session_factory
    _keys(factory, fresh_runtime.keyring, 2)
    stray = init_keyring(Settings(key_file=tmp_path / "stray" / "keyring.json"))
    _keys(factory, stray, 1)  # newest key of version 1 written by the stray keyring
    with pytest.raises(KeyringMismatch, match="KEK version 1"):
        prove_against_database(
            fresh_runtime.engine, load_keyring(fresh_runtime.settings).unwrap_data_key
        )
    with pytest.raises(KeyringMismatch, match="KEK version 1"):
        prove_against_database(fresh_runtime.engine, stray.unwrap_data_key)


# --- an unreachable database: refuse key use until proven ----------------------------------


def test_until_the_database_answers_every_key_use_is_refused_then_the_proof_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(custody, "RETRY_SECONDS", 0.0)
    later = tmp_path / "later.db"
    later.mkdir()  # SQLite cannot open a folder: the database "does not answer"
    engine = make_engine(f"sqlite:///{later}")
    real = init_keyring(Settings(key_file=tmp_path / "real" / "keyring.json"))
    stranger = init_keyring(Settings(key_file=tmp_path / "stranger" / "keyring.json"))
    right, wrong = ProvenKeyring(real, engine), ProvenKeyring(stranger, engine)
    try:
        for keyring in (right, wrong):
            with pytest.raises(KeyringNotProven, match="cannot be reached"):
                keyring.prove()
            with pytest.raises(KeyringNotProven):
                keyring.wrap_data_key(new_data_key())
            with pytest.raises(KeyringNotProven):
                keyring.system_key("totp")
            with pytest.raises(KeyringNotProven):
                keyring.blind_index_key("given_name")
            with pytest.raises(KeyringNotProven):
                keyring.sign(b"checkpoint")
            assert keyring.problem is not None

        # the database comes back, holding data written under the real keyring
        later.rmdir()
        migrate(engine)
        factory = sessionmaker(bind=engine)
        with factory() as session, session.begin():
            key_id, dek = create_data_key(session, real)

        wrapped = right.wrap_data_key(new_data_key())  # proven on first use
        assert right.problem is None and wrapped.kek_version == 1
        with factory() as session:
            assert load_data_key(session, right, key_id) == dek
        with pytest.raises(KeyringMismatch):
            wrong.wrap_data_key(new_data_key())
        assert wrong.problem is not None and "cannot unwrap" in wrong.problem
    finally:
        engine.dispose()


# --- a key file changed under a running process --------------------------------------------


def test_a_keyring_swapped_while_running_is_refused_and_the_adopted_keys_serve_on(
    fresh_runtime: Runtime,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    factory, keyring = fresh_runtime.session_factory, fresh_runtime.keyring
    assert isinstance(keyring, ProvenKeyring)
    keys = _keys(factory, keyring, 2)
    path = fresh_runtime.settings.key_file
    original = path.read_bytes()
    backend = LocalFileKeyring(path)  # the original keys, to check what is written meanwhile
    other = init_keyring(Settings(key_file=tmp_path / "other" / "keyring.json"))
    _replace_file(path, other.path.read_bytes())

    proofs: list[int] = []
    real_prove = custody.prove_against_database

    def counted(*args: object, **kwargs: object) -> int:
        proofs.append(1)
        return real_prove(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(custody, "prove_against_database", counted)
    with caplog.at_level("ERROR", logger="haven.keyring"):
        for _ in range(3):  # refused once, loudly; new keys still wrapped under the adopted KEK
            wrapped = keyring.wrap_data_key(dek := new_data_key())
            assert backend.unwrap_data_key(wrapped) == dek
    refusals = [r for r in caplog.records if "REFUSED" in r.getMessage()]
    assert len(refusals) == 1
    assert "replaced by a different keyring" in str(refusals[0].__dict__.get("reason"))
    with factory() as session:  # and what was written before still reads
        assert {k: load_data_key(session, keyring, k) for k in keys} == keys
    with pytest.raises(KeyringMismatch):  # nothing is changed on top of the refused file
        keyring.add_kek_version()

    # same blind-index/system/signing keys but another KEK: only the database proof can tell
    content = json.loads(original)
    content["keks"][0]["key"] = base64.b64encode(os.urandom(32)).decode()
    _replace_file(path, json.dumps(content).encode())
    caplog.clear()
    with caplog.at_level("ERROR", logger="haven.keyring"):
        wrapped = keyring.wrap_data_key(dek := new_data_key())
        keyring.wrap_data_key(new_data_key())
    assert backend.unwrap_data_key(wrapped) == dek
    [refused] = [r for r in caplog.records if "REFUSED" in r.getMessage()]
    assert "cannot unwrap" in str(refused.__dict__.get("reason"))
    assert len(proofs) == 1  # proven once for this file, not once per use

    _replace_file(path, original)  # the operator puts the right file back: adopted again
    assert keyring.wrap_data_key(new_data_key()).kek_version == 1
    assert keyring.add_kek_version() == 2


def test_a_rotation_by_another_process_is_proven_and_adopted(fresh_runtime: Runtime) -> None:
    factory, server = fresh_runtime.session_factory, fresh_runtime.keyring
    _keys(factory, server, 2)
    rotator = LocalFileKeyring(fresh_runtime.settings.key_file)
    assert rotator.add_kek_version() == 2
    keys = _keys(factory, rotator, 2)
    assert server.wrap_data_key(new_data_key()).kek_version == 2
    with factory() as session:
        assert {k: load_data_key(session, server, k) for k in keys} == keys


# --- the key file's folder and owner -------------------------------------------------------


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757, 0o1777])
def test_refused_when_others_may_write_to_the_folder(tmp_path: Path, mode: int) -> None:
    folder = tmp_path / "keys"
    init_keyring(Settings(key_file=folder / "keyring.json"))
    folder.chmod(mode)
    with pytest.raises(KeyringError, match="chmod 700"):
        load_keyring(Settings(key_file=folder / "keyring.json"))
    folder.chmod(0o750)  # others may list it but not change it
    load_keyring(Settings(key_file=folder / "keyring.json"))


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_refused_when_the_file_or_its_folder_belongs_to_another_user(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    path = folder / "keyring.json"
    init_keyring(Settings(key_file=path))
    os.chown(path, 4242, -1)
    with pytest.raises(KeyringError, match="belongs to user id 4242"):
        load_keyring(Settings(key_file=path))
    os.chown(path, os.geteuid(), -1)
    os.chown(folder, 4242, -1)
    with pytest.raises(KeyringError, match=r"folder .* belongs to user id 4242"):
        load_keyring(Settings(key_file=path))
    shutil.rmtree(folder)
