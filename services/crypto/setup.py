"""Creating a keyring: the one explicit step that may do it (`haven migrate`).

A keyring is created only for a database that holds no data keys, after that database has been
reached and migrated; a process that merely starts never creates one (see `keyring.py`). So a
database that is down, or one that holds data written under a keyring that went missing, gets a
refusal and nothing on disk, never a fresh keyring that would make its data unreadable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from models.db import make_engine
from models.keys import DataKey
from services.config import Settings
from services.crypto.errors import KeyringError
from services.crypto.keyring import init_keyring


class KeyringSetupRefused(KeyringError):
    """No keyring may be created for this database (it holds data keys, or cannot be reached)."""


def count_data_keys(engine: Engine) -> int:
    """Data keys in the database, live or destroyed (0 before the schema exists)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(DataKey.__tablename__):
            return 0
        return int(connection.scalar(select(func.count()).select_from(DataKey)) or 0)


def _count_or_refuse(engine: Engine) -> int:
    try:
        return count_data_keys(engine)
    except DBAPIError as error:
        raise KeyringSetupRefused(
            f"cannot connect to the database ({type(error.orig or error).__name__}); "
            "nothing was changed"
        ) from None


def keyring_exists(settings: Settings) -> bool:
    """A key file exists (with `HAVEN_KEYRING=pkcs11` too: then a move from the key file to
    the token is under way, done by `haven keys migrate-to-pkcs11`), or the token holds keys."""
    if settings.key_file.expanduser().exists():
        return True
    if settings.keyring == "pkcs11":
        from services.crypto.pkcs11_keyring import token_holds_keys

        return token_holds_keys(settings)
    return False


def create_keyring(settings: Settings) -> None:
    if settings.keyring == "pkcs11":
        from services.crypto.pkcs11_keyring import create_token_keyring

        create_token_keyring(settings)  # the KEK is generated inside the token
    else:
        init_keyring(settings)


def _where(settings: Settings) -> str:
    if settings.keyring == "pkcs11":
        return f"no Haven keys in PKCS#11 token {settings.pkcs11_token!r}"
    return f"HAVEN_KEY_FILE {settings.key_file} does not exist"


@contextmanager
def prepare_keyring(settings: Settings) -> Iterator[Engine]:
    """Yield an engine to migrate with; afterwards create the keyring if it does not exist.

    Refuses (before anything is changed) when the keyring is missing but the database already
    holds data keys: those were written under a keyring that must be restored, not replaced.
    """
    engine = make_engine(settings.database_url)
    try:
        present = keyring_exists(settings)
        if not present:
            held = _count_or_refuse(engine)
            if held:
                raise KeyringSetupRefused(
                    f"the database holds {held} data key(s) but there is no keyring "
                    f"({_where(settings)}). Restore the keyring this database was written with; "
                    "a new one could not read any of it."
                )
        yield engine
        if not present and not keyring_exists(settings):
            if _count_or_refuse(engine):  # written meanwhile by someone else's keyring
                raise KeyringSetupRefused(
                    "data keys appeared in the database while it was migrated; not creating "
                    "a keyring beside them"
                )
            create_keyring(settings)
    finally:
        engine.dispose()
