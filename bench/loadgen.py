"""Load generators (asyncio, `bench.httpclient`), both stopping by themselves.

- `closed_loop`: N clients, each sending its next request when the previous one answered:
  throughput at a given concurrency.
- `open_loop`: requests sent on a fixed schedule (one every 1/rate seconds) whatever the server
  does, each timed from its *scheduled* send time, so a stalled server shows up in the tail
  instead of silently slowing the client down (no coordinated omission).

Every request function has the shape `async (client, worker, n) -> status code`.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from bench.httpclient import HttpClient

RequestFn = Callable[[HttpClient, int, int], Awaitable[int]]
ERRORS = (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _client(port: int, connections: int, timeout: float) -> HttpClient:
    return HttpClient(port, connections, timeout)


async def _closed(
    port: int, fn: RequestFn, concurrency: int, seconds: float, warmup: float, timeout: float
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    loop = asyncio.get_running_loop()
    async with _client(port, concurrency, timeout) as client:
        start = loop.time()
        measure_from = start + warmup
        stop_at = measure_from + seconds

        async def worker(index: int) -> None:
            nonlocal errors
            n = 0
            while True:
                began = loop.time()
                if began >= stop_at:
                    return
                try:
                    status = await fn(client, index, n)
                except ERRORS:
                    status = 0
                ended = loop.time()
                n += 1
                if began >= measure_from and ended <= stop_at + timeout:
                    statuses[status] += 1
                    latencies.append(ended - began)
                    if not 200 <= status < 300:
                        errors += 1

        cpu0 = _cpu()
        await asyncio.wait_for(
            asyncio.gather(*(worker(i) for i in range(concurrency))),
            timeout=warmup + seconds + timeout + 5,
        )
        cpu = _cpu() - cpu0
        elapsed = loop.time() - start
    ok = sum(c for s, c in statuses.items() if 200 <= s < 300)
    return {
        "concurrency": concurrency,
        "seconds": seconds,
        "requests": sum(statuses.values()),
        "ok": ok,
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "throughput": ok / seconds,
        "latency_p50_ms": percentile(latencies, 50) * 1000,
        "latency_p99_ms": percentile(latencies, 99) * 1000,
        "client_cpu_share": round(cpu / elapsed, 3),
    }


def closed_loop(
    port: int,
    fn: RequestFn,
    *,
    concurrency: int,
    seconds: float,
    warmup: float = 1.0,
    timeout: float = 30.0,
) -> dict[str, Any]:
    return asyncio.run(_closed(port, fn, concurrency, seconds, warmup, timeout))


async def _open(
    port: int, fn: RequestFn, rate: float, seconds: float, timeout: float, connections: int
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    late_sends: list[float] = []
    total = max(1, int(rate * seconds))
    async with _client(port, connections, timeout) as client:

        async def one(n: int, scheduled: float) -> None:
            late_sends.append(loop.time() - scheduled)
            try:
                status = await fn(client, n % 1_000_000, n)
            except ERRORS:
                status = 0
            statuses[status] += 1
            latencies.append(loop.time() - scheduled)

        cpu0 = _cpu()
        start = loop.time() + 0.05
        tasks: list[asyncio.Task[None]] = []
        for n in range(total):
            scheduled = start + n / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n, scheduled)))
        _done, pending = await asyncio.wait(tasks, timeout=timeout + 5)
        for task in pending:  # never answered: counted as failures at the full timeout
            task.cancel()
            statuses[-1] += 1
            latencies.append(timeout + 5)
        cpu = _cpu() - cpu0
        elapsed = loop.time() - start
    ok = sum(c for s, c in statuses.items() if 200 <= s < 300)
    return {
        "rate": rate,
        "seconds": seconds,
        "scheduled": total,
        "ok": ok,
        "errors": total - ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "latency_p50_ms": percentile(latencies, 50) * 1000,
        "latency_p90_ms": percentile(latencies, 90) * 1000,
        "latency_p99_ms": percentile(latencies, 99) * 1000,
        "latency_max_ms": max(latencies, default=float("nan")) * 1000,
        "send_lag_p99_ms": percentile(late_sends, 99) * 1000,
        "client_cpu_share": round(cpu / elapsed, 3),
        "latencies_ms": [round(x * 1000, 3) for x in latencies],
    }


def open_loop(
    port: int,
    fn: RequestFn,
    *,
    rate: float,
    seconds: float,
    timeout: float = 10.0,
    connections: int = 256,
) -> dict[str, Any]:
    return asyncio.run(_open(port, fn, rate, seconds, timeout, connections))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def now() -> float:
    return time.perf_counter()
