from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.hostile.serverlog import ServerLog
from tests.support.live import PASSWORD, LiveShop, obtain_token

# Small so that the slow-client test finishes quickly; the default is 30 s.
SLOW_REQUEST_TIMEOUT = 2


@dataclass(frozen=True)
class Hostile:
    shop: LiveShop
    token: str
    product_id: str
    port: int
    log: ServerLog

    @property
    def base(self) -> str:
        return self.shop.base

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def assert_alive(self) -> None:
        """The server still answers, its process did not die, and it logged no internal error."""
        assert all(p.poll() is None for p in self.shop.procs), "a server process exited"
        r = httpx.get(f"{self.base}/healthz", timeout=5)
        assert r.status_code == 200 and r.json()["status"] == "ok"
        errors = self.log.internal_errors()
        assert not errors, "the server logged internal errors:\n" + "\n".join(errors[:3])


@pytest.fixture(scope="module")
def hostile(servers: dict[str, str]) -> Iterator[Hostile]:
    shop = LiveShop(servers["database"], servers["redis"],
                    env_extra={"SHOP_SLOW_REQUEST_TIMEOUT": str(SLOW_REQUEST_TIMEOUT)})
    shop.create()
    try:
        shop.cli("seed", "--demo")
        shop.cli("users", "create", "--email", "hostile@example.com", "--password", PASSWORD)
        log = ServerLog(shop)
        log.follow(shop.start())
        token = obtain_token(shop.base, "hostile@example.com")["access_token"]
        product = httpx.get(f"{shop.base}/api/products", params={"pageSize": 1}, timeout=10).json()["items"][0]
        yield Hostile(shop, token, product["id"], shop.public_port, log)
    finally:
        shop.destroy()


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(port: int, data: bytes, *, timeout: float = 10) -> RawResponse:
    """Send exact bytes (no client-side checks) and read one response until close or Content-Length."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything we send
        return read_response(s, timeout)


def read_response(s: socket.socket, timeout: float) -> RawResponse:
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\r\n\r\n" not in buf:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines and lines[0].startswith("HTTP/1."), f"no HTTP response, got {buf[:200]!r}"
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    length = int(headers.get("content-length", "-1"))
    while (length < 0 or len(body) < length) and time.monotonic() < deadline:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        body += chunk
    return RawResponse(status, headers, body if length < 0 else body[:length])
