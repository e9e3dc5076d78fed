"""Test helpers that need real sockets: the app behind a real uvicorn, and a TCP proxy that can
stall (stop relaying without closing, as a paused or partitioned database host does)."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def live_server(app: FastAPI) -> Iterator[int]:
    """Serve `app` with uvicorn on 127.0.0.1 in a thread; yields the port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start within 10 s"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class StallingProxy:
    """Relays 127.0.0.1:`port` to `target`; `stall()` stops relaying in both directions while
    keeping every connection open, `resume()` carries on. Daemon threads; `close()` ends it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self) -> None:
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    def close(self) -> None:
        self.closed.set()
        self.flowing.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._relay, args=(client, upstream), daemon=True).start()

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        try:
            while not self.closed.is_set():
                if not self.flowing.wait(timeout=0.5):
                    continue  # stalled: read nothing, send nothing, close nothing
                readable, _, _ = select.select(list(peers), [], [], 0.2)
                for source in readable:
                    if not self.flowing.is_set():
                        break
                    data = source.recv(65536)
                    if not data:
                        return
                    peers[source].sendall(data)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()
