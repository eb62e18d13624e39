"""Where migrations/ and static_web/ come from, and a missing migrations folder is an error."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from kernel.core.resources import data_folder
from kernel.engine.config import load_settings
from kernel.host.loader import migration_apps
from kernel.host.plugin import CliError, LoadedPlugin, PluginInfo

ROOT = Path(__file__).resolve().parents[2]
SHOP = str(Path(sys.executable).parent / "shop")


def plugin(name: str, *, tables: bool, migrations: str | None = None) -> LoadedPlugin:
    module = types.SimpleNamespace()
    if tables:
        module.shop_tables = lambda: []
    return LoadedPlugin(info=PluginInfo(name=name, version="1", migrations=migrations), module=module)


def test_shop_home_overrides_and_the_checkout_is_the_fallback(tmp_path: Path):
    assert data_folder("migrations") == ROOT / "migrations"  # no wheel copy in a checkout
    assert data_folder("static_web", tmp_path) == tmp_path.resolve() / "static_web"
    with pytest.raises(ValueError):
        data_folder("../etc")


def test_migration_apps_come_from_the_packaged_folder_without_shop_home():
    settings = load_settings(env={})
    assert settings.home is None
    apps = dict(migration_apps(settings, [plugin("catalog", tables=True)]))
    assert apps == {"kernel": ROOT / "migrations" / "kernel", "catalog": ROOT / "migrations" / "catalog"}


def test_a_plugin_with_tables_but_no_migrations_folder_is_an_error_naming_it(tmp_path: Path):
    settings = load_settings(env={})
    with pytest.raises(CliError, match=r"migrations folder not found for nosuch \("):
        migration_apps(settings, [plugin("nosuch", tables=True)])
    with pytest.raises(CliError, match="migrations folder not found for named"):
        migration_apps(settings, [plugin("named", tables=False, migrations=str(tmp_path / "absent"))])


def test_a_plugin_without_tables_may_have_no_migrations():
    settings = load_settings(env={})
    apps = dict(migration_apps(settings, [plugin("stateless", tables=False)]))
    assert "stateless" not in apps and "kernel" in apps


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--no-migrate"], ["serve"]])
def test_a_shop_home_without_migrations_stops_migrate_and_serve_with_one_line(tmp_path: Path, command: list[str],
                                                                                servers: dict[str, str]):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update(SHOP_HOME=str(tmp_path), DATABASE_URL=servers["database"], REDIS_URL=servers["redis"],
               SHOP_SECRET_KEY="data-folders")
    out = subprocess.run([SHOP, *command, *(["--port", "1"] if command[0] == "serve" else [])], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr, out.stderr
    last = out.stderr.strip().splitlines()[-1]  # serve logs at INFO before it
    # The kernel's own tables fall back to the installed package's migrations; the plugins' cannot.
    assert last.startswith("shop: error: migrations folder not found for auth (") and "SHOP_HOME" in last
