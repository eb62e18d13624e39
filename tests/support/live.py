"""Real shop server processes for multi-process, fault, fuzz and browser tests.

``LiveShop`` creates its own database on the given PostgreSQL server, migrates
it, and runs ``shop serve`` as separate OS processes (one or several), each with
its own port or sharing one through ``--workers``. Tokens come from the real
OAuth code + PKCE flow over HTTP (:func:`obtain_token`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse, urlsplit, urlunparse

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[2]
SHOP = str(Path(sys.executable).parent / "shop")
PASSWORD = "correct horse battery staple"
USER_SCOPES = "openid profile email catalog:read cart:write orders:read orders:write wallet:read wallet:write"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def run_async(coro: Any) -> Any:
    """Run a coroutine from sync test code, even while another event loop runs on this
    thread (Playwright's sync API keeps one): in a worker thread with its own loop."""
    import concurrent.futures

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/" + name))


async def create_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class LiveShop:
    admin_db_url: str
    redis_url: str
    env_extra: dict[str, str] = field(default_factory=dict)
    db_name: str = field(default_factory=lambda: f"shop_live_{uuid.uuid4().hex[:8]}")
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    public_port: int = field(default_factory=free_port)
    logs: list[Path] = field(default_factory=list)

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    @property
    def db_url(self) -> str:
        return with_database(self.admin_db_url, self.db_name)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.public_port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
        env.update({
            "DATABASE_URL": self.db_url, "REDIS_URL": self.redis_url, "SHOP_HOME": str(ROOT),
            "SHOP_REDIS_PREFIX": f"live{self.db_name[-8:]}:", "SHOP_LOG_LEVEL": "WARNING",
            "SHOP_PUBLIC_URL": self.base, "SHOP_SECRET_KEY": "live-test-secret",
            "SHOP_DEMO": "1",  # the flows under test top up wallets and pay with test cards
        })
        for cls in ("READ", "WRITE", "MONEY", "LOGIN", "SIGNUP", "TOKEN"):
            env.setdefault(f"SHOP_RATE_LIMIT_{cls}", "1000000/60")
        env.update(self.env_extra)
        return env

    def create(self) -> None:
        run_async(create_database(self.admin_db_url, self.db_name))
        self.cli("migrate")

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([SHOP, *args], env=self.env(), capture_output=True, text=True, timeout=180)
        if check and out.returncode != 0:
            raise RuntimeError(f"shop {' '.join(args)} failed: {out.stderr}")
        return out

    def start(self, *, port: int | None = None, workers: int = 1, wait: bool = True) -> subprocess.Popen[bytes]:
        port = port or self.public_port
        cmd = [SHOP, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate", "--workers", str(workers)]
        # Logs go to a file: an unread pipe fills up and would block the server's writes.
        log_path = Path(tempfile.gettempdir()) / f"{self.db_name}-{port}.log"
        self.logs.append(log_path)
        with open(log_path, "ab") as log_file:
            proc = subprocess.Popen(cmd, env=self.env(), stdout=subprocess.DEVNULL, stderr=log_file,
                                    start_new_session=True)
        self.procs.append(proc)
        self.ports.append(port)
        if wait:
            self.wait_ready(port)
        return proc

    def wait_ready(self, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"shop on port {port} did not become ready")

    def stop(self, proc: subprocess.Popen[bytes] | None = None, sig: int = signal.SIGTERM) -> None:
        targets = [proc] if proc else list(self.procs)
        for p in targets:
            if p.poll() is None:
                p.send_signal(sig)
        for p in targets:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
            if p in self.procs:
                i = self.procs.index(p)
                self.procs.pop(i)
                self.ports.pop(i)

    def destroy(self) -> None:
        self.stop()
        run_async(drop_database(self.admin_db_url, self.db_name))
        for path in self.logs:
            path.unlink(missing_ok=True)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def obtain_token(base: str, email: str, password: str = PASSWORD, *, scope: str = USER_SCOPES,
                 issuer: str | None = None) -> dict[str, Any]:
    """The real code + PKCE flow against a live server, as the storefront's client."""
    issuer = issuer or base
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(12)
    redirect_uri = f"{issuer}/auth/callback"
    with httpx.Client(base_url=base, timeout=30) as c:
        page = c.get("/oauth/authorize", params={
            "response_type": "code", "client_id": "web-client", "redirect_uri": redirect_uri, "scope": scope,
            "state": state, "code_challenge": challenge, "code_challenge_method": "S256"})
        page.raise_for_status()
        form = {k: unescape(v) for k, v in _HIDDEN.findall(page.text)}
        form.update(email=email, password=password)
        r = c.post("/oauth/authorize", data=form)
        if r.status_code not in (302, 303):
            raise RuntimeError(f"sign-in failed: {r.status_code} {r.text[:300]}")
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        tok = c.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                           "redirect_uri": redirect_uri, "client_id": "web-client",
                                           "code_verifier": verifier})
        tok.raise_for_status()
        return dict(tok.json())
