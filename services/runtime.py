"""What a running Haven process holds: settings, the engine, the session factory, the keyring.

Built once per process (each uvicorn worker, each CLI call) from the settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from models.db import make_engine, make_session_factory
from services.audit import install_chain_hook
from services.audit.checkpoints import Checkpointer, enable_checkpoints
from services.config import Settings, database_limits
from services.crypto import Keyring, KeyringUnavailable, load_keyring
from services.crypto.custody import ProvenKeyring

log = logging.getLogger("haven.runtime")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    keyring: Keyring


def build_runtime(settings: Settings, *, prove: bool = True) -> Runtime:
    """The process's runtime. The keyring is loaded first (a missing or unsafe key file refuses
    at once; none is ever created here), then proven against the database: with `prove`, a
    failed or impossible proof raises (`KeyringMismatch`, `KeyringNotProven`); without it (a
    server worker) the keyring starts unproven and refuses key use until the proof succeeds."""
    install_chain_hook()
    backend = load_keyring(settings)  # first: refuse to start on a bad key file
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        limits=database_limits(settings),
        sqlite_synchronous=settings.sqlite_synchronous,
    )
    keyring = ProvenKeyring(backend, engine)
    try:
        keyring.prove()
    except KeyringUnavailable as error:
        if prove:
            engine.dispose()
            raise
        log.error("keyring refused: %s", error)
    session_factory = make_session_factory(engine)
    enable_checkpoints(session_factory, Checkpointer(settings, keyring))
    return Runtime(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        keyring=keyring,
    )
