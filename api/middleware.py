"""Pure ASGI middleware: body size limit, request context (address, request id), access log,
no caching of API answers."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from asgi_correlation_id import correlation_id
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_MEDIA_TYPE, problem_type_uri
from services.audit.context import RequestMeta, request_scope

access_log = logging.getLogger("haven.access")


class BodyTooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    """Answer 413 for bodies over the limit, declared (Content-Length) or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    # One ASGI pass: the declared length, then the streamed body; splitting it would scatter the
    # single decision (413 or pass on) over helpers that share the message loop's state.
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: C901
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        request_id = correlation_id.get()
        body = json.dumps(
            {
                "type": problem_type_uri(413),
                "title": "Payload too large",
                "status": 413,
                "detail": f"The request body is larger than {self.max_bytes} bytes.",
                "request_id": request_id,
            }
        ).encode()
        headers = [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        if request_id:
            headers.append((b"x-request-id", request_id.encode()))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Put the request id and client address where audit rows can find them; log each request
    by route template and status only (never a query string or a body: they hold names)."""

    def __init__(self, app: ASGIApp, *, trust_forwarded_for: bool, proxy_hops: int = 1) -> None:
        self.app = app
        self.trust_forwarded_for = trust_forwarded_for
        self.proxy_hops = proxy_hops

    def _client_address(self, scope: Scope) -> str | None:
        client = scope.get("client")
        peer = str(client[0])[:64] if client else None
        if not self.trust_forwarded_for:
            return peer
        entries = [
            part.strip()
            for name, value in scope.get("headers", [])
            if name == b"x-forwarded-for"
            for part in value.decode("latin-1").split(",")
            if part.strip()
        ]
        # Each trusted proxy appends the address it saw, so the client's own address is the
        # `proxy_hops`-th entry from the right; anything further left was written by the client
        # and proves nothing.
        if len(entries) < self.proxy_hops:
            return peer
        chosen: str = entries[-self.proxy_hops]
        return chosen[:64]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        meta = RequestMeta(
            request_id=correlation_id.get(), client_address=self._client_address(scope)
        )
        status = 500
        started = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with request_scope(meta):
            try:
                await self.app(scope, receive, capture)
            finally:
                route: Any = scope.get("route")
                access_log.info(
                    "request",
                    extra={
                        "method": scope.get("method"),
                        "route": getattr(route, "path", None) or "(unmatched)",
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "request_id": meta.request_id,
                    },
                )


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer under `prefix`, errors included.

    API answers carry children's names, places and the fact that a case exists; a browser, a
    proxy or a field laptop's disk cache must keep none of it. Set here, outside every other
    layer, so no route (or refusal, or 413 from the size limit) can forget it."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not (
            path == self.prefix or path.startswith(self.prefix + "/")
        ):
            await self.app(scope, receive, send)
            return

        async def no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in (b"cache-control", b"pragma")
                ]
                headers += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, no_store)
