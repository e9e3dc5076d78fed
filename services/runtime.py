"""What a running Haven process holds: settings, the engine, the session factory, the keyring.

Built once per process (each uvicorn worker, each CLI call) from the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from models.db import make_engine, make_session_factory
from services.audit import install_chain_hook
from services.audit.checkpoints import Checkpointer, enable_checkpoints
from services.config import Settings, database_limits
from services.crypto import Keyring, load_keyring
from services.crypto.data_keys import check_keyring_matches


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    keyring: Keyring


def build_runtime(settings: Settings) -> Runtime:
    install_chain_hook()
    keyring = load_keyring(settings)  # first: refuse to start on a bad key file
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        limits=database_limits(settings),
        sqlite_synchronous=settings.sqlite_synchronous,
    )
    check_keyring_matches(engine, keyring)  # a wrong HAVEN_KEY_FILE must not start
    session_factory = make_session_factory(engine)
    enable_checkpoints(session_factory, Checkpointer(settings, keyring))
    return Runtime(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        keyring=keyring,
    )
