"""Who else must know when a case's child is registered or changed (family tracing).

The tracing matcher depends on cases (it reads and decrypts them); cases must not depend on it.
So the listeners are named here as `module:function` and resolved once, on first use: intake
and update call `child_changed`, which runs each in the same transaction as the write, on every
path that writes a case (API, CLI, benchmarks, tests) without anyone having to wire it up.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from models.cases import Case
from services.config import Settings
from services.crypto import Keyring

ChildListener = Callable[[Session, Keyring, Settings, Case, Mapping[str, Any], bool], None]
"""(session, keyring, settings, case, new document, is_new_case)."""

LISTENERS: tuple[str, ...] = ("services.tracing.indexing:index_case",)
"""Keep the case's tracing tokens current and match it against open tracing requests."""


@functools.cache
def _listeners() -> tuple[ChildListener, ...]:
    """The listeners, resolved on first use. Built whole and then cached: concurrent first
    calls may each resolve them, but every caller gets the complete tuple once. (Appending to
    a shared list, as this once did, let two requests arriving together on a fresh worker
    register the tracing indexer twice, so that every later intake on that worker wrote its
    tokens twice and failed.)"""
    resolved = []
    for name in LISTENERS:
        module, _, function = name.partition(":")
        resolved.append(getattr(importlib.import_module(module), function))
    return tuple(resolved)


def child_changed(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    case: Case,
    document: Mapping[str, Any],
    *,
    new: bool,
) -> None:
    for listener in _listeners():
        listener(session, keyring, settings, case, document, new)
