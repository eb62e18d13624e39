"""``shop serve --workers N``: gunicorn's arbiter over aiohttp workers.

A killed worker is replaced and costs only the requests it held; SIGTERM drains
every worker, also requests whose bodies are still arriving; metrics add up
across workers; the embedded servers belong to the master.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.kernel.test_embedded import SHOP, embedded_env, postgres_running, wait_ready
from tests.support.live import LiveShop, free_port


def worker_pids(master: int) -> set[int]:
    """The master's children running ``shop serve`` (not the embedded servers it started)."""
    path = Path(f"/proc/{master}/task/{master}/children")
    children = {int(p) for p in path.read_text().split()} if path.exists() else set()
    workers = set()
    for pid in children:
        try:
            if b"serve" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                workers.add(pid)
        except FileNotFoundError:
            pass
    return workers


def wait_for_workers(master: int, count: int, timeout: float = 60, exclude: set[int] = frozenset()) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = worker_pids(master) - exclude
        if len(pids) >= count:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"master {master} has workers {worker_pids(master)}, wanted {count} new ones")


def gone(pid: int) -> bool:
    """Dead: reaped, or a zombie the master has not reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (OSError, IndexError):  # gone mid-read: ENOENT, or ESRCH while being reaped
        return True


@dataclass
class Outcome:
    started: float
    ok: bool
    detail: str


@dataclass
class Load:
    """Client threads sending one request per new connection, until stopped (bounded)."""

    url: str
    threads: int = 6
    max_seconds: float = 60
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _loop(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(timeout=20, headers={"Connection": "close"}) as c:
            while not self._stop.is_set() and time.monotonic() < deadline:
                t0 = time.monotonic()
                try:
                    r = c.get(self.url)
                    outcome = Outcome(t0, r.status_code == 200, str(r.status_code))
                except httpx.HTTPError as exc:
                    outcome = Outcome(t0, False, repr(exc))
                with self._lock:
                    self.outcomes.append(outcome)

    def __enter__(self) -> Load:
        for _ in range(self.threads):
            t = threading.Thread(target=self._loop, daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(timeout=30)

    def count(self) -> int:
        with self._lock:
            return len(self.outcomes)

    def wait_for(self, n: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < n and time.monotonic() < deadline:
            time.sleep(0.05)


def test_a_worker_killed_under_load_is_replaced_and_costs_only_its_own_requests(live_shop: LiveShop):
    shop = live_shop
    proc = shop.start(workers=2)
    workers = wait_for_workers(proc.pid, 2)
    victim = min(workers)

    with Load(f"{shop.base}/api/products") as load:
        load.wait_for(100)
        os.kill(victim, signal.SIGKILL)
        while not gone(victim):
            time.sleep(0.005)
        dead_at = time.monotonic()
        replacement = wait_for_workers(proc.pid, 1, exclude=workers)  # a new worker, not the survivor
        after_kill = load.count()
        load.wait_for(after_kill + 150)

    outcomes = load.outcomes
    failed = [o for o in outcomes if not o.ok]
    assert len(outcomes) >= 250 and proc.poll() is None
    # Only what the killed worker held can fail: at most one request per client thread,
    # each started before the worker was dead. Everything sent afterwards succeeded.
    assert len(failed) <= load.threads, failed
    assert all(o.started < dead_at for o in failed), failed
    assert all(o.ok for o in outcomes if o.started > dead_at)
    assert worker_pids(proc.pid) == (workers - {victim}) | replacement

    # The replacement serves too, and the death was logged.
    instances = set()
    with httpx.Client(timeout=10, headers={"Connection": "close"}) as c:
        for _ in range(200):
            instances.add(c.get(f"{shop.base}/healthz").json()["instance"])
            if len(instances) == 2:
                break
    assert len(instances) == 2
    log = shop.log_text()
    assert '"event":"worker_died"' in log and str(victim) in log


def _send_partial_upload(port: int, body: bytes, sent: int) -> socket.socket:
    head = (f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(head + body[:sent])
    return s


def _read_response(s: socket.socket) -> bytes:
    chunks = []
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_sigterm_drains_every_worker_including_uploads_still_arriving(live_shop: LiveShop):
    shop = live_shop
    proc = shop.start(workers=2)
    wait_for_workers(proc.pid, 2)
    port = shop.public_port

    # Metrics add up across workers: every request counted once, whichever worker served
    # it and whichever worker answers /metrics.
    # The kernel hands new connections to whichever worker waits; a worker still starting on a
    # loaded machine takes none, so ask until both have answered (40 at least, 400 at most).
    instances = set()
    sent = 0
    with httpx.Client(timeout=10, headers={"Connection": "close"}) as c:
        while sent < 40 or (len(instances) < 2 and sent < 400):
            instances.add(c.get(f"{shop.base}/healthz").json()["instance"])
            sent += 1
            if sent >= 40 and len(instances) < 2:
                time.sleep(0.05)
        assert len(instances) == 2
        pattern = re.compile(r'shop_http_request_duration_seconds_count\{method="GET",route="/healthz",'
                             r'status="200"\} (\d+)')
        counts = {int(pattern.findall(c.get(f"{shop.base}/metrics").text)[0]) for _ in range(6)}
    assert counts == {sent}

    # Uploads in progress on several connections (so on both workers, most likely):
    # headers and half the body are in, the rest comes after SIGTERM.
    body = b'{"query": "{ __typename }' + b" " * 4000 + b'"}'
    uploads = [_send_partial_upload(port, body, len(body) // 2) for _ in range(6)]
    time.sleep(0.5)  # every handler is now waiting for the rest of its body
    proc.send_signal(signal.SIGTERM)
    time.sleep(1.5)  # the workers have stopped accepting and are draining
    assert proc.poll() is None

    # New connections are no longer served.
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as fresh:
            fresh.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            fresh.settimeout(5)
            late = fresh.recv(100)
    except OSError:
        late = b""
    assert not late.startswith(b"HTTP/1.1 200")

    for s in uploads:
        s.sendall(body[len(body) // 2:])
    responses = [_read_response(s) for s in uploads]
    for s in uploads:
        s.close()
    for raw in responses:
        assert raw.startswith(b"HTTP/1.1 200"), raw[:300]
        assert b'"__typename":"Query"' in raw
    proc.wait(timeout=30)
    assert proc.returncode == 0


def test_embedded_servers_are_started_once_by_the_master_and_outlive_a_worker(tmp_path: Path):
    data = tmp_path / "data"
    env = embedded_env(data)
    env.update(SHOP_LOG_LEVEL="INFO", SHOP_SECRET_KEY="embedded-workers")
    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([SHOP, "serve", "--port", str(port), "--workers", "2"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=120) == 200, log_path.read_text()
        assert postgres_running(data)
        log_text = log_path.read_text()
        assert log_text.count("embedded_postgres_started") == 1
        assert log_text.count("embedded_valkey_started") == 1

        # A worker that stops on its own (SIGTERM to it alone) is replaced; its exit
        # must not stop the servers the master owns.
        workers = wait_for_workers(proc.pid, 2)
        victim = min(workers)
        os.kill(victim, signal.SIGTERM)
        wait_for_workers(proc.pid, 1, exclude=workers)
        assert postgres_running(data) and (data / "valkey" / "valkey.sock").exists()
        with httpx.Client(timeout=10, headers={"Connection": "close"}) as c:
            statuses = {c.get(f"http://127.0.0.1:{port}/api/products").status_code for _ in range(20)}
        assert statuses == {200}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, log_path.read_text()[-3000:]
    assert not postgres_running(data)
