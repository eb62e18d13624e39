"""The embedded path: no DATABASE_URL / REDIS_URL, so the shop runs its own servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOP = str(Path(sys.executable).parent / "shop")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(SHOP_DATA_DIR=str(data_dir), SHOP_HOME=str(ROOT))
    return env


def wait_ready(url: str, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return int(r.status)
        except Exception:
            time.sleep(0.3)
    return 0


def postgres_running(data_dir: Path) -> bool:
    pid_file = data_dir / "postgres" / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_serve_starts_embedded_servers_reuses_data_and_stops_them_on_sigterm(tmp_path):
    data = tmp_path / "data"
    env = embedded_env(data)
    port = free_port()
    out = subprocess.run([SHOP, "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "applied" in out.stdout
    again = subprocess.run([SHOP, "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert "up to date" in again.stdout  # idempotent, and the data was kept
    assert not postgres_running(data)  # stopped when the command ended

    proc = subprocess.Popen([SHOP, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert wait_ready(f"http://127.0.0.1:{port}/readyz") == 200
        assert postgres_running(data)
        assert (data / "valkey" / "valkey.sock").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert not postgres_running(data)


def test_external_urls_start_no_embedded_server(tmp_path):
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        # Locally without external servers this path is covered by CI, which sets both.
        assert os.environ.get("CI") is None, "CI must set DATABASE_URL and REDIS_URL"
        return
    data = tmp_path / "data"
    env = {**embedded_env(data), "DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]}
    out = subprocess.run([SHOP, "plugins", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([SHOP, "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert not (data / "postgres").exists() and not (data / "valkey").exists()


def test_cli_errors_are_one_line_and_non_zero(tmp_path):
    env = embedded_env(tmp_path / "d")
    out = subprocess.run([SHOP, "serve", "--port", "99999"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert out.stderr.strip().startswith("shop: error:") and "\n" not in out.stderr.strip()
    out = subprocess.run([SHOP, "frobnicate"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    out = subprocess.run([SHOP, "--version"], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("shop ")
