"""Measure ``/healthz`` latency from another process while hostile requests run.

The prober lives in its own OS process (not a thread of the test), so that the test
building a megabyte payload cannot delay the measurement. It keeps one keep-alive
connection and asks every few milliseconds; a server whose event loop is blocked
answers late, and the worst delay is what the suite asserts on.
"""

from __future__ import annotations

import http.client
import multiprocessing
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProbeResult:
    samples: int
    worst_ms: float
    p99_ms: float
    failures: int
    latencies_ms: tuple[float, ...] = ()

    def over(self, ms: float) -> int:
        return sum(1 for x in self.latencies_ms if x > ms)


def _probe(port: int, stop: Any, ready: Any, out: Any) -> None:
    latencies: list[float] = []
    failures = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while not stop.is_set():
        started = time.perf_counter()
        try:
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                failures += 1
        except (OSError, http.client.HTTPException):
            failures += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        if not ready.is_set() and len(latencies) == 20:
            ready.set()  # the connection is warm: measure from here on
            latencies.clear()
        time.sleep(0.005)
    conn.close()
    out.put((latencies, failures))


class HealthProbe:
    """``with HealthProbe(port) as probe: ...`` then ``probe.result``."""

    def __init__(self, port: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._stop = ctx.Event()
        self._ready = ctx.Event()
        self._out = ctx.Queue()
        self._proc = ctx.Process(target=_probe, args=(port, self._stop, self._ready, self._out), daemon=True)
        self.result: ProbeResult | None = None

    def __enter__(self) -> HealthProbe:
        self._proc.start()
        if not self._ready.wait(timeout=60):
            raise RuntimeError("the /healthz prober did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.05)  # a few samples even when the attacks were quick
        self._stop.set()
        latencies, failures = self._out.get(timeout=30)
        self._proc.join(timeout=10)
        latencies.sort()
        worst = latencies[-1] if latencies else float("inf")
        p99 = latencies[int(len(latencies) * 0.99)] if latencies else float("inf")
        self.result = ProbeResult(len(latencies), worst, p99, failures, tuple(latencies))
