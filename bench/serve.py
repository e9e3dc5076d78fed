"""Run an ASGI app factory with several uvicorn workers the way `haven serve` does.

`python -m bench.serve IMPORT_STRING --port P [--workers N] [--access-log] [--as-shipped]`

The baseline is started through this launcher so that both servers get the same socket setup as
`haven serve --workers N`: with several workers uvicorn binds the listening socket itself as
`socket.socket(AF_INET)` (protocol 0), and asyncio only turns Nagle's algorithm off for sockets
whose protocol is `IPPROTO_TCP`; uvicorn writes a response's head and body separately, so every
keep-alive response would wait for the client's delayed ACK (a flat ~40 ms). `haven serve` and
this launcher set TCP_NODELAY on the listening socket (Linux copies it to each accepted
connection). `--as-shipped` leaves Nagle on: stock `uvicorn --workers N` behaviour.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--access-log", action="store_true")
    parser.add_argument("--as-shipped", action="store_true")
    args = parser.parse_args()
    if args.host != "127.0.0.1":
        raise SystemExit("the bench serves on loopback only")
    config = uvicorn.Config(
        args.app,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        log_config=None if not args.access_log else uvicorn.config.LOGGING_CONFIG,
    )
    sock = config.bind_socket()
    if not args.as_shipped:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()


if __name__ == "__main__":
    main()
