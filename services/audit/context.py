"""Where a request comes from, carried in a context variable so audit rows can name it.

The HTTP layer sets it per request; the CLI and tests leave it empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class RequestMeta:
    request_id: str | None = None
    client_address: str | None = None
    refusal_recorded: bool = False
    """Set when the request recorded its own refusal (`record_refusal`) before failing, so the
    error mapper does not record the same refusal a second time."""


_current: ContextVar[RequestMeta | None] = ContextVar("haven_request_meta", default=None)


def current_request() -> RequestMeta:
    return _current.get() or RequestMeta()


@contextmanager
def request_scope(meta: RequestMeta) -> Iterator[None]:
    token = _current.set(meta)
    try:
        yield
    finally:
        _current.reset(token)


def set_request(meta: RequestMeta) -> None:
    _current.set(meta)
