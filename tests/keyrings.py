"""Which keyring the tests run with, and a SoftHSM token for the PKCS#11 one.

`HAVEN_TEST_KEYRING=file` (the default) or `pkcs11`: with `pkcs11`, every test's settings name a
keyring in a SoftHSM token, each test under a label prefix of its own (`HAVEN_PKCS11_KEY_PREFIX`),
so tests that add or retire KEK versions never see each other's keys; the objects are destroyed
when the test ends. `make test` runs the keyring, case, erasure and rotation tests that way on
both databases; the keyring contract tests run against both keyrings in every pass.

The token comes from `HAVEN_TEST_PKCS11_MODULE/_TOKEN/_PIN` (`.ci/run` sets them with
`tests/pkcs11/setup-softhsm.sh`), or else from a token this test session creates with that script
when softhsm2 is installed. Without softhsm2 the PKCS#11 tests are skipped, saying so, except
under CI (`CI=true`) or `HAVEN_TEST_KEYRING=pkcs11`, where its absence fails the run.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.config import Settings
from services.crypto import Keyring, load_keyring
from services.crypto.setup import create_keyring, keyring_exists

KEYRING = os.environ.get("HAVEN_TEST_KEYRING", "file")
SETUP_SCRIPT = Path(__file__).parent / "pkcs11" / "setup-softhsm.sh"
MISSING = (
    "softhsm2 is not installed (apt-get install softhsm2), so the PKCS#11 keyring "
    "cannot be tested here"
)
_NAMES = ("HAVEN_TEST_PKCS11_MODULE", "HAVEN_TEST_PKCS11_TOKEN", "HAVEN_TEST_PKCS11_PIN")


def is_pkcs11() -> bool:
    return KEYRING == "pkcs11"


def _must_have_softhsm() -> bool:
    return os.environ.get("CI") == "true" or is_pkcs11()


@lru_cache(maxsize=1)
def softhsm() -> dict[str, str] | None:
    """The token's settings (module, token, pin), creating a token first if need be."""
    if all(os.environ.get(name) for name in _NAMES) and os.environ.get("SOFTHSM2_CONF"):
        return {name: os.environ[name] for name in _NAMES}
    if shutil.which("softhsm2-util") is None or shutil.which("bash") is None:
        return None
    folder = tempfile.mkdtemp(prefix="haven-softhsm-")
    done = subprocess.run(
        ["bash", str(SETUP_SCRIPT), folder], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return None
    for line in done.stdout.splitlines():  # `export NAME=value`, shell-quoted
        name, _, value = line.removeprefix("export ").partition("=")
        os.environ[name] = shlex.split(value)[0]  # before the PKCS#11 library is loaded
    return {name: os.environ[name] for name in _NAMES}


def require_softhsm() -> dict[str, str]:
    found = softhsm()
    if found is None:
        if _must_have_softhsm():
            pytest.fail(f"{MISSING}; under CI the PKCS#11 keyring tests must run")
        pytest.skip(MISSING)
    return found


def pkcs11_settings(settings: Settings) -> Settings:
    """`settings` with a keyring of their own in the SoftHSM token (not created yet)."""
    token = require_softhsm()
    return settings.model_copy(
        update={
            "keyring": "pkcs11",
            "pkcs11_module": Path(token["HAVEN_TEST_PKCS11_MODULE"]),
            "pkcs11_token": token["HAVEN_TEST_PKCS11_TOKEN"],
            "pkcs11_pin": SecretStr(token["HAVEN_TEST_PKCS11_PIN"]),
            "pkcs11_key_prefix": f"t{secrets.token_hex(6)}",
        }
    )


def for_test_keyring(settings: Settings) -> Settings:
    """`settings` for the keyring this run tests (HAVEN_TEST_KEYRING)."""
    return pkcs11_settings(settings) if is_pkcs11() else settings


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables naming the same keyring, for a `haven` process a test starts."""
    env = {"HAVEN_KEYRING": settings.keyring, "HAVEN_KEY_FILE": str(settings.key_file)}
    if settings.keyring == "pkcs11":
        pin = settings.pkcs11_pin.get_secret_value() if settings.pkcs11_pin else ""
        env.update(
            {
                "HAVEN_PKCS11_MODULE": str(settings.pkcs11_module),
                "HAVEN_PKCS11_TOKEN": str(settings.pkcs11_token),
                "HAVEN_PKCS11_PIN": pin,
                "HAVEN_PKCS11_KEY_PREFIX": settings.pkcs11_key_prefix,
                "SOFTHSM2_CONF": os.environ.get("SOFTHSM2_CONF", ""),
            }
        )
    return env


def make_keyring(settings: Settings) -> None:
    """Create the keyring `settings` name (as `haven migrate` would on an empty database)."""
    create_keyring(settings)


def open_keyring(settings: Settings) -> Keyring:
    """The keyring `settings` name, created first when it does not exist yet (loading a keyring
    never creates one)."""
    if not keyring_exists(settings):
        create_keyring(settings)
    return load_keyring(settings)


def remove_token_keyring(settings: Settings) -> None:
    """Destroy a test's objects in the token (they are found by their label prefix)."""
    if settings.keyring != "pkcs11":
        return
    from services.crypto.pkcs11_keyring import destroy_token_keyring

    destroy_token_keyring(settings)
