"""The case listeners are resolved once per process, also when the first requests of a fresh
worker arrive together: each must see every listener exactly once."""

from __future__ import annotations

import importlib
import threading
import time
from types import ModuleType

import pytest

from services.cases import listeners


def test_concurrent_first_uses_see_each_listener_once(monkeypatch: pytest.MonkeyPatch) -> None:
    listeners._listeners.cache_clear()
    real_import = importlib.import_module

    def slow_import(name: str) -> ModuleType:
        time.sleep(0.05)  # widen the window in which a second caller also finds nothing resolved
        return real_import(name)

    monkeypatch.setattr(importlib, "import_module", slow_import)
    start = threading.Barrier(8)
    seen: list[int] = []

    def first_use() -> None:
        start.wait()
        seen.append(len(listeners._listeners()))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listeners._listeners.cache_clear()
    assert seen == [len(listeners.LISTENERS)] * 8
    assert len(listeners._listeners()) == len(listeners.LISTENERS)
