"""The wheel is the product: built from the source tree, installed into a fresh
virtualenv outside the checkout, and run from another directory, it is a working
shop (migrations, storefront, templates and GraphQL files all ship inside it).

The venv is made from scratch with the wheel's core dependencies only (versions from
requirements.lock): no editable install, no ``SHOP_HOME``, no ``[embedded]`` extra.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.live import create_database, drop_database, free_port, run_async, with_database

ROOT = Path(__file__).resolve().parents[2]
# What the Docker build context lets through (.dockerignore): all a build may read.
BUILD_INPUTS = ("pyproject.toml", "setup.cfg", "setup.py", "README.md", "LICENSE",
                "kernel", "plugins", "migrations", "static_web")
NOT_SOURCE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


@dataclass
class Installed:
    venv: Path
    cwd: Path  # an empty directory outside the checkout

    @property
    def shop(self) -> str:
        return str(self.venv / "bin" / "shop")

    def env(self, **extra: str) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("SHOP_", "PYTHON", "VIRTUAL_ENV")) and k not in ("DATABASE_URL", "REDIS_URL")}
        keep["PATH"] = f"{self.venv / 'bin'}:{keep.get('PATH', '')}"
        return {**keep, "SHOP_LOG_LEVEL": "WARNING", **extra}

    def run(self, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.shop, *args], cwd=self.cwd, env=env, capture_output=True, text=True, timeout=180)


def _check(cmd: list[str], **kw: object) -> None:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload]
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=NOT_SOURCE)
        else:
            shutil.copy2(path, src / name)
    # A copy, so the build cannot pick up (or leave) build/ or egg-info in the checkout.
    _check([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
            "--wheel-dir", str(tmp / "dist"), str(src)])
    wheels = list((tmp / "dist").glob("shopkernel-*.whl"))
    assert len(wheels) == 1
    venv = tmp / "venv"
    # No pip inside the new venv (ensurepip is slow): this venv's pip installs into it.
    _check([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    _check([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
            "--constraint", str(ROOT / "requirements.lock"), str(wheels[0])])
    shutil.rmtree(src)  # nothing may be read from the build tree afterwards
    cwd = tmp / "elsewhere"
    cwd.mkdir()
    yield Installed(venv=venv, cwd=cwd)


@pytest.fixture
def fresh_database(servers: dict[str, str]) -> Iterator[str]:
    name = f"shop_wheel_{uuid.uuid4().hex[:8]}"
    run_async(create_database(servers["database"], name))
    try:
        yield with_database(servers["database"], name)
    finally:
        run_async(drop_database(servers["database"], name))


def test_installed_wheel_runs_from_elsewhere_without_shop_home(installed: Installed, fresh_database: str,
                                                               servers: dict[str, str]):
    where = subprocess.run([str(installed.venv / "bin" / "python"), "-c",
                            "import kernel.core.resources as r; print(r.data_folder('migrations'))"],
                           cwd=installed.cwd, env=installed.env(), capture_output=True, text=True, check=True)
    assert where.stdout.strip().startswith(str(installed.venv)), where.stdout  # the wheel's copy, not the checkout's

    port = free_port()
    env = installed.env(DATABASE_URL=fresh_database, REDIS_URL=servers["redis"],
                        SHOP_REDIS_PREFIX=f"wheel{uuid.uuid4().hex[:6]}:", SHOP_SECRET_KEY="wheel-test-secret",
                        SHOP_PUBLIC_URL=f"http://127.0.0.1:{port}")
    migrated = installed.run("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "kernel:" in migrated.stdout and "catalog:" in migrated.stdout, migrated.stdout
    again = installed.run("migrate", env=env)
    assert again.returncode == 0 and "up to date" in again.stdout, again.stdout

    log = installed.cwd / f"serve-{port}.log"
    with open(log, "wb") as sink:
        # Two workers: gunicorn's arbiter and aiohttp's worker class come from the clean venv too.
        proc = subprocess.Popen([installed.shop, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                                cwd=installed.cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10, follow_redirects=True) as http:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    if http.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)

            home = http.get("/")
            assert home.status_code == 200 and "<html" in home.text.lower()
            asset = http.get("/assets/js/app.js")
            assert asset.status_code == 200 and asset.text.strip()
            products = http.get("/api/products")
            assert products.status_code == 200, products.text
            sign_in = http.get("/auth/login", params={"next": "/"})
            assert sign_in.status_code == 200 and 'name="password"' in sign_in.text, sign_in.text[:500]
            assert "/oauth/authorize" in str(sign_in.url) or "/auth/login" in str(sign_in.url)
            graphql = http.post("/graphql", json={"query": "{ __typename }"})
            assert graphql.status_code == 200 and graphql.json()["data"] == {"__typename": "Query"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0, log.read_text()[-3000:]


def test_installed_wheel_without_embedded_extra_says_what_to_install(installed: Installed):
    out = installed.run("migrate", env=installed.env(SHOP_DATA_DIR=str(installed.cwd / "data")))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "DATABASE_URL" in lines[0] and "shopkernel[embedded]" in lines[0]
    assert not (installed.cwd / "data").exists()  # nothing was started or written


def test_installed_wheel_writes_a_plugin_skeleton_from_its_packaged_templates(installed: Installed):
    dest = installed.cwd / "shop-wheel-probe"
    out = installed.run("plugins", "new", "wheel_probe", "--dir", str(dest), env=installed.env())
    assert out.returncode == 0, out.stdout + out.stderr
    assert (dest / "shop_wheel_probe" / "__init__.py").is_file()
    assert (dest / "tests" / "test_wheel_probe.py").is_file()
    assert not list(dest.rglob("*.tmpl"))
