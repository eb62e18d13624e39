"""`shop plugins new`: the generated distribution installs, registers and passes its own test."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from kernel.commands.cli import main
from kernel.commands.scaffold import KINDS, ScaffoldError, _names, generate, render, templates
from tests.support.live import create_database, drop_database, run_async

ROOT = Path(__file__).resolve().parents[2]
PIP = [sys.executable, "-m", "pip"]


def test_generated_plugin_installs_and_passes_its_own_test(tmp_path, servers):
    name = f"scaf_{uuid.uuid4().hex[:8]}"
    dest = generate(name, tmp_path / "dist")
    assert (dest / f"shop_{name}" / "migrations" / "m0001_init.py").is_file()
    db_name = f"shop_scaffold_{uuid.uuid4().hex[:10]}"
    admin = servers["database"]
    run_async(create_database(admin, db_name))
    env = {**os.environ, "DATABASE_URL": urlunparse(urlparse(admin)._replace(path="/" + db_name)),
           "REDIS_URL": servers["redis"], "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("SHOP_CONFIG", None)
    try:
        install = subprocess.run([*PIP, "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(dest)],
                                 capture_output=True, text=True, timeout=300)
        assert install.returncode == 0, install.stderr
        listed = subprocess.run([sys.executable, "-c", "from importlib.metadata import entry_points; "
                                 "print(sorted(e.name for e in entry_points(group='shop.plugins')))"],
                                capture_output=True, text=True, timeout=60)
        assert name in listed.stdout
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                             cwd=dest, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert "3 passed" in run.stdout
    finally:
        subprocess.run([*PIP, "uninstall", "-q", "-y", f"shop-{name.replace('_', '-')}"],
                       capture_output=True, timeout=300)
        run_async(drop_database(admin, db_name))


@pytest.mark.parametrize("bad", ["X", "a", "1abc", "has-dash", "a" * 41, "orders", "catalog"])
def test_bad_or_taken_names_are_refused_and_nothing_is_written(tmp_path, bad):
    with pytest.raises(ScaffoldError):
        generate(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_existing_destination_is_never_overwritten(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(ScaffoldError, match="already exists"):
        generate("fresh_name", tmp_path / "taken")
    assert list((tmp_path / "taken").iterdir()) == []


def test_cli_command_writes_the_skeleton_or_fails_in_one_line(tmp_path, capsys):
    assert main(["plugins", "new", "gift_cards", "--dir", str(tmp_path / "gc")]) == 0
    assert (tmp_path / "gc" / "shop_gift_cards" / "__init__.py").is_file()
    setup = (tmp_path / "gc" / "setup.cfg").read_text()
    assert "gift_cards = shop_gift_cards" in setup and "name = shop-gift-cards" in setup
    capsys.readouterr()
    assert main(["plugins", "new", "Gift", "--dir", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("shop: error: plugin name 'Gift' must match") and "\n" not in err


def test_a_payment_provider_skeleton_passes_its_own_tests(tmp_path):
    dest = generate("acme_pay", tmp_path / "prov", kind="payment-provider")
    init = (dest / "shop_acme_pay" / "__init__.py").read_text()
    assert "def shop_payment_providers" in init and "requires=(\"payments\",)" in init
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(dest / "tests")],
                           capture_output=True, text=True, timeout=300, cwd=dest,
                           env={**os.environ, "PYTHONPATH": f"{dest}{os.pathsep}{ROOT}"})
    assert tests.returncode == 0, tests.stdout + tests.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_the_templates_render_to_a_distribution_that_passes_the_shops_lint(tmp_path, kind):
    """The templates are package data (kernel/commands/templates/<kind>/*.tmpl), not Python the
    shop's own lint sees: render them and lint what a plugin author gets, with its own config."""
    assert templates(kind), "no templates shipped"
    files = render(kind, _names("lint_probe"))
    for rel, text in files.items():
        assert "{{" not in text and "PKG" not in rel and "NAME" not in rel, rel
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    assert 'compatibility=">=' in files["shop_lint_probe/__init__.py"]
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr
