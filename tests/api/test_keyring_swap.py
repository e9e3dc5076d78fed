"""A key file swapped under a running server is refused, and the server goes on with the keys it
had adopted: cases registered meanwhile are written under the original keyring (which a restart
with the original file reads), and the cases written before still open."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from services.config import Settings
from services.crypto import KeyringMismatch, init_keyring
from services.policy import Role
from services.runtime import Runtime, build_runtime
from tests.factories import API, make_agency, make_user, user_headers
from tests.keyrings import is_pkcs11
from tests.referrals_support import case_body

pytestmark = pytest.mark.skipif(is_pkcs11(), reason="the key file's custody")


def _swap(path: Path, content: bytes) -> None:
    tmp = path.with_name(".swap.tmp")
    tmp.write_bytes(content)
    tmp.chmod(0o600)
    os.replace(tmp, path)


def test_cases_written_while_a_swapped_key_file_is_refused_stay_readable(
    fresh_runtime: Runtime, tmp_path: Path
) -> None:
    runtime = fresh_runtime
    with runtime.session_factory() as db, db.begin():
        caseworker = make_user(db, make_agency(db), Role.CASEWORKER)
        headers = user_headers(db, caseworker, runtime.settings)
    path = runtime.settings.key_file
    original = path.read_bytes()
    stranger = init_keyring(Settings(key_file=tmp_path / "stranger" / "keyring.json"))

    with TestClient(create_app(runtime=runtime), raise_server_exceptions=True) as http:
        before = http.post(f"{API}/cases", json=case_body(), headers=headers)
        assert before.status_code == 201, before.text
        _swap(path, stranger.path.read_bytes())
        during = http.post(f"{API}/cases", json=case_body(), headers=headers)
        assert during.status_code == 201, during.text
        for created in (before, during):
            read = http.get(f"{API}/cases/{created.json()['id']}", headers=headers)
            assert read.status_code == 200, read.text

    # A restart with the stranger's file refuses; with the original it reads both cases.
    with pytest.raises(KeyringMismatch, match="cannot unwrap"):
        build_runtime(runtime.settings)
    _swap(path, original)
    restarted = build_runtime(runtime.settings)
    try:
        with TestClient(create_app(runtime=restarted), raise_server_exceptions=True) as http:
            for created in (before, during):
                read = http.get(f"{API}/cases/{created.json()['id']}", headers=headers)
                assert read.status_code == 200, read.text
    finally:
        restarted.engine.dispose()
