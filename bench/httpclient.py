"""A minimal asyncio HTTP/1.1 keep-alive client for load generation (loopback only).

Why not httpx here: on this 2-core machine httpx's AsyncClient itself became the bottleneck
(measured against the baseline's `/health`: ~150-600 requests/s at 32 connections, the client at
a full core, where this client drives ~1,900/s), so it would have measured the client instead of
the servers and hidden most of Haven's cost. This client does one `write` per request and parses
only the status line, the headers it needs and a `Content-Length` or chunked body.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from dataclasses import dataclass
from typing import Any

from bench.config import HOST


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body)


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class HttpClient:
    """Keep-alive connections to one loopback server, at most `connections` at a time."""

    def __init__(self, port: int, connections: int, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self._free: list[_Conn] = []
        self._slots = asyncio.Semaphore(connections)
        self._host = f"{HOST}:{port}".encode()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        while self._free:
            self._free.pop().close()

    async def _connect(self) -> _Conn:
        reader, writer = await asyncio.open_connection(HOST, self.port, limit=1 << 20)
        return _Conn(reader, writer)

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        json: Any = None,
        body: bytes | None = None,
    ) -> Response:
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
        lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self._host]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}".encode())
        if body is not None:
            lines.append(b"Content-Type: application/json")
            lines.append(b"Content-Length: " + str(len(body)).encode())
        payload = b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")
        async with self._slots:
            conn = self._free.pop() if self._free else await self._connect()
            try:
                response, keep = await asyncio.wait_for(self._exchange(conn, payload), self.timeout)
            except BaseException:
                conn.close()
                raise
            if keep:
                self._free.append(conn)
            else:
                conn.close()
            return response

    async def get(self, path: str, **kwargs: Any) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Response:
        return await self.request("PATCH", path, **kwargs)

    @staticmethod
    async def _exchange(conn: _Conn, payload: bytes) -> tuple[Response, bool]:
        conn.writer.write(payload)
        head = await conn.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(b":")
            headers[name.decode("latin-1").lower()] = value.strip().decode("latin-1")
        if "content-length" in headers:
            data = await conn.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int((await conn.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await conn.reader.readuntil(b"\r\n")
                    break
                parts.append(await conn.reader.readexactly(size))
                await conn.reader.readexactly(2)
            data = b"".join(parts)
        else:
            data = b""
        keep = headers.get("connection", "").lower() != "close"
        return Response(status, headers, data), keep
