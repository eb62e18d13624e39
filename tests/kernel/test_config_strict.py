"""Strict configuration: every mistake an operator can make is a one-line startup error
that names the key and lists what is known; nothing is silently ignored."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.engine.config import OPTIONS, ConfigError, load_settings
from kernel.host.loader import discover
from kernel.host.plugin import PluginError

ROOT = Path(__file__).resolve().parents[2]
SHOP = str(Path(sys.executable).parent / "shop")


def _load(tmp_path: Path, toml: str = "", **env: str) -> object:
    cfg = tmp_path / "shop.toml"
    cfg.write_text(toml)
    return load_settings(env={"SHOP_CONFIG": str(cfg), **env})


@pytest.mark.parametrize(("toml", "named", "known"), [
    ("[server]\nprot = 8080\n", "server.prot", "server.port"),
    ("[database]\npool = 5\n", "database.pool", "database.pool_max"),
    ("[redis]\nprefx = 'a:'\n", "redis.prefx", "redis.prefix"),
    ("[graphql]\nmax_dept = 3\n", "graphql.max_dept", "graphql.max_depth"),
    ("[limits]\nmax_body = 3\n", "limits.max_body", "limits.max_body_bytes"),
    ("[logging]\nlvl = 'INFO'\n", "logging.lvl", "logging.level"),
    ("[cache]\nttl = 3\n", "cache.ttl", "cache.local_ttl"),
    ("[metrics]\nallowed = []\n", "metrics.allowed", "metrics.allow"),
    ("[plugins]\nenable = ['auth']\n", "plugins.enable", "enabled"),
    ("[serverr]\nport = 1\n", "serverr", "server"),
    ("dmeo = true\n", "dmeo", "demo"),
])
def test_unknown_keys_in_any_section_name_the_key_and_the_known_ones(tmp_path, toml, named, known):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, toml)
    msg = str(err.value)
    assert repr(named) in msg and "known" in msg and known in msg and "\n" not in msg


def test_unknown_rate_limit_classes_are_errors_from_the_file_and_the_environment(tmp_path):
    with pytest.raises(ConfigError, match=r"rate-limit class in rate_limits\.logn.*'logn'.*known: .*login"):
        _load(tmp_path, "[rate_limits]\nlogn = '5/60'\n")
    with pytest.raises(ConfigError, match=r"SHOP_RATE_LIMIT_SINGUP.*known: .*signup"):
        _load(tmp_path, SHOP_RATE_LIMIT_SINGUP="5/60")
    with pytest.raises(ConfigError, match=r"rate_limits\.login\.limt.*known: limit, period"):
        _load(tmp_path, "[rate_limits.login]\nlimt = 5\n")
    s = _load(tmp_path, "[rate_limits]\nlogin = { limit = 5, period = 30 }\n", SHOP_RATE_LIMIT_READ="7/1")
    assert s.rate_limits["login"] == (5, 30.0) and s.rate_limits["read"] == (7, 1.0)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("var", "value", "expect"), [
    ("DATABASE_URL", "mysql://db/shop", "must be a postgresql:// or postgres:// URL"),
    ("DATABASE_URL", "postgresql://", "must name a host"),
    ("DATABASE_URL", "postgresql://db:99999/shop", "not a valid URL"),
    ("REDIS_URL", "http://cache:6379", "must be a redis:// or rediss:// or unix:// URL"),
    ("REDIS_URL", "redis://ca che:6379", "must not contain spaces"),
    ("SHOP_PUBLIC_URL", "shop.example.com", "must be a http:// or https:// URL"),
    ("SHOP_PUBLIC_URL", "https://shop.example.com/?x=1", "scheme://host"),
    ("SHOP_CORS_ORIGINS", "https://app.example.com/", "is not an origin"),
    ("SHOP_CORS_ORIGINS", "app.example.com", "is not an origin"),
    ("SHOP_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local", "'proxy.local' is not an IP address or CIDR"),
    ("SHOP_METRICS_ALLOW", "10.0.0.300", "is not an IP address or CIDR"),
    ("SHOP_PORT", "80a", "SHOP_PORT must be an integer"),
    ("SHOP_DEMO", "maybe", "SHOP_DEMO must be true or false"),
    ("SHOP_ENV", "prod", "SHOP_ENV must be one of development, production"),
    ("SHOP_PLUGINS__ORDERS", "x", "SHOP_PLUGINS__<PLUGIN>__<SETTING>"),
])
def test_malformed_values_and_urls_are_named_errors(var, value, expect):
    with pytest.raises(ConfigError, match=re.escape(expect)) as err:
        load_settings(env={var: value})
    assert var in str(err.value) or var.startswith("SHOP_PLUGINS__")


def test_url_errors_never_echo_a_password():
    with pytest.raises(ConfigError) as err:
        load_settings(env={"DATABASE_URL": "mysql://shop:hunter2@db/shop"})
    assert "hunter2" not in str(err.value)


def test_unknown_plugin_names_in_enabled_disabled_and_sections_are_errors(settings):
    with pytest.raises(PluginError, match=r"plugins\.enabled names unknown plugin\(s\): nope; installed: .*auth"):
        discover(settings.with_(plugins_enabled=("auth", "nope")))
    with pytest.raises(ConfigError, match=r"plugins\.disabled names unknown plugin\(s\): walet; installed: .*wallet"):
        discover(settings.with_(plugins_disabled=("walet",)))
    with pytest.raises(ConfigError, match=r"settings for unknown plugin\(s\) plugins\.ordrs; installed: .*orders"):
        discover(settings.with_(plugin_config={"ordrs": {"x": 1}}))


def test_plugin_sections_come_from_the_environment_typed_by_the_plugins_own_model(settings):
    env = {"SHOP_PLUGINS__WALLET__MAX_TOPUP_MINOR": "500", "SHOP_PLUGINS__WALLET__CURRENCIES": "EUR,SEK",
           "SHOP_PLUGINS__WALLET__ALLOW_DEMO_TOPUP": "false"}
    from_env = load_settings(env=env)
    _pm, loaded = discover(settings.with_(plugin_config=from_env.plugin_config))
    wallet = next(lp for lp in loaded if lp.info.name == "wallet").config
    assert wallet.max_topup_minor == 500 and wallet.currencies == ("EUR", "SEK")
    assert wallet.allow_demo_topup is False
    # A TOML list works too, and the environment wins over the file.
    assert load_settings(env={"SHOP_PLUGINS__WALLET__CURRENCIES": '["JPY"]'}).plugin_config["wallet"]["currencies"]
    bad = load_settings(env={"SHOP_PLUGINS__WALLET__MAX_TOPUP_MINOR": "lots", "SHOP_PLUGINS__WALLET__COLOUR": "red"})
    with pytest.raises(ConfigError) as err:
        discover(settings.with_(plugin_config=bad.plugin_config))
    msg = str(err.value)
    assert "plugins.wallet.max_topup_minor: must be an integer" in msg
    assert "plugins.wallet.colour: is not a known field" in msg and "known: currencies, max_topup_minor" in msg


def test_production_mode_needs_a_secret_key_and_refuses_demo():
    with pytest.raises(ConfigError, match=r"production mode .*https.* needs SHOP_SECRET_KEY"):
        load_settings(env={"SHOP_PUBLIC_URL": "https://shop.example.com"})
    with pytest.raises(ConfigError, match=r"production mode \(SHOP_ENV=production\) needs SHOP_SECRET_KEY"):
        load_settings(env={"SHOP_ENV": "production"})
    with pytest.raises(ConfigError, match="refuses demo mode"):
        load_settings(env={"SHOP_ENV": "production", "SHOP_SECRET_KEY": "k" * 32, "SHOP_DEMO": "1"})
    s = load_settings(env={"SHOP_ENV": "production", "SHOP_SECRET_KEY": "k" * 32, "SHOP_DEMO": "1",
                           "SHOP_ALLOW_DEMO_IN_PRODUCTION": "1"})
    assert s.production and s.demo
    dev = load_settings(env={})
    assert not dev.production and dev.demo is False, "demo is off unless asked for"
    assert load_settings(env={"SHOP_DEMO": "1"}).demo and _toml_demo()


def _toml_demo() -> bool:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write("demo = true\n")
    try:
        return load_settings(env={"SHOP_CONFIG": f.name}).demo
    finally:
        os.unlink(f.name)


def test_every_setting_is_documented_in_operations_md():
    doc = (ROOT / "docs" / "operations.md").read_text()
    missing = [o.env for o in OPTIONS if o.env and f"`{o.env}`" not in doc]
    missing += [o.toml for o in OPTIONS if o.toml and f"`{o.toml}`" not in doc]
    assert not missing, f"docs/operations.md does not document: {missing}"


def _cli(redis_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    base.update(SHOP_HOME=str(ROOT), REDIS_URL=redis_url, **env)
    return subprocess.run([SHOP, *args], env=base, capture_output=True, text=True, timeout=120)


def test_cli_reports_bad_and_unreachable_databases_in_one_line(tmp_path, servers):
    r = servers["redis"]
    bad = _cli(r, "migrate", DATABASE_URL="postgres//nohost")
    unreachable = _cli(r, "migrate", DATABASE_URL="postgresql://postgres@127.0.0.1:1/none")
    missing_db = _cli(r, "migrate", DATABASE_URL=servers["database"].rsplit("/", 1)[0] + "/no_such_db_x")
    cfg = tmp_path / "shop.toml"
    cfg.write_text("[server]\nprot = 1\n")
    typo = _cli(r, "plugins", "list", SHOP_CONFIG=str(cfg))
    # A plugin command while the plugin list is wrong: the configuration error, not "invalid choice".
    plugin_cmd = _cli(r, "users", "create", "--email", "a@b.test", SHOP_PLUGINS_DISABLED="walet",
                      DATABASE_URL=servers["database"])
    for out in (bad, unreachable, missing_db, typo, plugin_cmd):
        assert out.returncode != 0
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("shop: error: "), out.stderr
        assert "Traceback" not in out.stderr
    assert "DATABASE_URL" in bad.stderr
    assert "cannot connect to PostgreSQL at 127.0.0.1:1/none" in unreachable.stderr
    assert "no_such_db_x" in missing_db.stderr
    assert "server.prot" in typo.stderr
    assert "plugins.disabled names unknown plugin(s): walet" in plugin_cmd.stderr
