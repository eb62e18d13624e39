"""Plugin discovery, enable/disable by configuration, dependency order, contributions."""

from __future__ import annotations

import argparse
import types

import pytest

from kernel.commands.cli import build_parser
from kernel.core.context import CallContext
from kernel.engine.config import ConfigError, load_settings
from kernel.host.app import create_app
from kernel.host.hookspecs import hookimpl
from kernel.host.loader import call_each, discover
from kernel.host.plugin import Command, PluginError, PluginInfo
from tests.conftest import rt_of
from tests.support import fake_identity, hello_plugin


def make_plugin(name: str, requires: tuple[str, ...] = ()) -> types.SimpleNamespace:
    @hookimpl
    def shop_plugin() -> PluginInfo:
        return PluginInfo(name=name, version="1.0", requires=requires)

    return types.SimpleNamespace(shop_plugin=shop_plugin)


def test_missing_requirement_names_both_plugins(settings):
    with pytest.raises(PluginError, match="plugin 'b' requires 'a', which is not installed"):
        discover(settings, [make_plugin("b", ("a",))])


def test_disabling_a_required_plugin_is_a_startup_error_naming_both(settings):
    s = settings.with_(plugins_disabled=("a",))
    with pytest.raises(PluginError, match="'b' requires 'a', which is disabled"):
        discover(s, [make_plugin("a"), make_plugin("b", ("a",))])


def test_cycles_are_refused_naming_the_plugins(settings):
    plugins = [make_plugin("a", ("c",)), make_plugin("b", ("a",)), make_plugin("c", ("b",))]
    with pytest.raises(PluginError, match=r"cycle: a -> c -> b -> a"):
        discover(settings, plugins)


def test_load_order_follows_requires_not_registration(settings):
    _pm, loaded = discover(settings, [make_plugin("orders", ("wallet", "catalog")), make_plugin("wallet"),
                                      make_plugin("catalog")])
    assert [lp.info.name for lp in loaded] == ["catalog", "wallet", "orders"]


def test_first_party_plugins_come_from_entry_points(settings):
    _pm, loaded = discover(settings)
    names = [lp.info.name for lp in loaded]
    assert {"auth", "catalog", "wallet", "orders"} <= set(names)
    assert names.index("orders") > names.index("catalog") and names.index("orders") > names.index("wallet")


def test_disabled_plugin_is_never_imported(settings):
    imported = []

    class Trap:
        @hookimpl
        def shop_plugin(self) -> PluginInfo:
            imported.append(1)
            return PluginInfo(name="trap", version="1")

    s = settings.with_(plugins_disabled=("trap",))
    # explicit plugins are already imported objects, so check blocking via entry points instead:
    s2 = settings.with_(plugins_disabled=("orders", "reviews"))
    pm, loaded = discover(s2)
    assert "orders" not in [lp.info.name for lp in loaded]
    assert pm.is_blocked("orders")
    assert discover(s, [Trap()])[1] == []


def test_unknown_enabled_plugin_and_bad_config_are_clear_errors(settings, tmp_path):
    with pytest.raises(PluginError, match="unknown plugin"):
        discover(settings.with_(plugins_enabled=("nope",)))
    cfg = tmp_path / "shop.toml"
    cfg.write_text("[server]\nport = 'eighty'\n")
    with pytest.raises(ConfigError, match=r"server\.port must be an integer"):
        load_settings(env={"SHOP_CONFIG": str(cfg)})
    cfg.write_text("[serverr]\n")
    with pytest.raises(ConfigError, match="unknown config section"):
        load_settings(env={"SHOP_CONFIG": str(cfg)})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(env={"SHOP_CONFIG": str(tmp_path / "missing.toml")})


def test_env_overrides_and_secret_references(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    cfg = tmp_path / "shop.toml"
    cfg.write_text(f'secret_key = "$file:{secret}"\n[plugins]\ndisabled = ["wallet"]\n[rate_limits]\nlogin = "5/60"\n')
    s = load_settings(env={"SHOP_CONFIG": str(cfg), "SHOP_PLUGINS_DISABLED": "orders,wallet",
                           "SHOP_RATE_LIMIT_SIGNUP": "1000/60"})
    assert s.secret_key == "s3cret"
    assert s.plugins_disabled == ("orders", "wallet")
    assert s.rate_limits["login"] == (5, 60.0) and s.rate_limits["signup"] == (1000, 60.0)
    assert s.redacted()["secret_key"] == "***"


async def test_test_plugin_contributions_work_and_vanish_when_disabled(make_client, settings):
    client = await make_client([hello_plugin, fake_identity])
    rt = rt_of(client)
    # table + service + REST route
    assert (await client.post("/api/hello", json={"name": "plug"})).status == 200
    # GraphQL field
    data = await (await client.post("/graphql", json={"query": '{ helloCount(name: "plug") { count } }'})).json()
    assert data["data"]["helloCount"]["count"] == 1
    # event handler
    assert rt.extras_hello_events == ["plug"]
    # CLI command, contributed through shop_cli, run against the live runtime
    cmds = [c for _lp, cs in call_each(rt.pm, rt.plugins, "shop_cli", lambda lp: None) for c in cs]
    assert isinstance(cmds[0], Command) and cmds[0].path == ("hello", "greet")
    parser = build_parser(cmds)
    args = parser.parse_args(["hello", "greet", "plug"])
    assert await args.command_obj.run(args, rt) == 0
    count = await rt.db.fetchval("SELECT count FROM hello_greeting WHERE name = 'plug'")
    assert count == 2

    # Disabled by configuration: every contribution is gone.
    off = await make_client([hello_plugin, fake_identity], plugins_disabled=("hello",))
    rt_off = rt_of(off)
    assert (await off.post("/api/hello", json={"name": "plug"})).status == 404
    data = await (await off.post("/graphql", json={"query": '{ helloCount(name: "plug") { count } }'})).json()
    assert data["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    assert "test.hello.v1.Hello" not in rt_off.bus.services
    assert not rt_off.events._subs
    assert call_each(rt_off.pm, rt_off.plugins, "shop_cli", lambda lp: None) == []
    doc = await (await off.get("/api/openapi.json")).json()
    assert "/api/hello" not in doc["paths"]
    with pytest.raises(SystemExit):
        build_parser([]).parse_args(["hello", "greet", "x"])


def test_duplicate_routes_are_a_startup_error_naming_the_plugin(settings):
    from kernel.web.rest import Route
    from tests.support.hello_plugin import Hello

    @hookimpl
    def shop_plugin() -> PluginInfo:
        return PluginInfo(name="copycat", version="1")

    @hookimpl
    def shop_routes(ctx):
        return [Route("POST", "/api/hello", Hello.greet)]

    copycat = types.SimpleNamespace(shop_plugin=shop_plugin, shop_routes=shop_routes)
    pattern = r"plugin '(copycat|hello)' adds route POST /api/hello, already added by '(hello|copycat)'"
    with pytest.raises(PluginError, match=pattern):
        create_app(settings, [hello_plugin, copycat])


@pytest.mark.parametrize("route", ["FETCH /api/x", "GET api/x", "GET", "get /api/x"])
def test_a_malformed_rest_declaration_fails_when_the_contract_is_imported(route):
    from kernel.core.service import Http

    with pytest.raises(ValueError, match="expected 'VERB /path'"):
        Http(route)


async def test_contract_declared_routes_are_served_and_documented(make_client):
    client = await make_client([hello_plugin])
    doc = await (await client.get("/api/openapi.json")).json()
    assert doc["paths"]["/api/hello/{name}"]["get"]["summary"] == "How often someone was greeted"
    assert doc["paths"]["/api/hello"]["post"]["summary"] == "Greet someone"
    r = await client.get("/api/hello/ada")  # the path parameter fills the request; the bus answers
    assert r.status == 404 and (await r.json())["detail"] == "nobody called ada was greeted"


def test_plugin_hook_failure_names_plugin_and_hook(settings):
    @hookimpl
    def shop_plugin() -> PluginInfo:
        return PluginInfo(name="broken", version="1")

    @hookimpl
    def shop_routes(ctx):
        raise ValueError("kaboom")

    broken = types.SimpleNamespace(shop_plugin=shop_plugin, shop_routes=shop_routes)
    with pytest.raises(PluginError, match="plugin 'broken': hook shop_routes failed: ValueError: kaboom"):
        create_app(settings, [broken])


async def test_bus_rejects_a_wrong_request_type(make_client):
    from kernel.core.status import BusError
    from tests.support.hello_plugin import GetCount, Hello

    client = await make_client([hello_plugin])
    with pytest.raises(BusError) as err:
        await rt_of(client).bus.call(Hello.greet, GetCount(name="x"), CallContext())
    assert err.value.status.name == "INVALID_ARGUMENT"


def test_cli_help_lists_commands(capsys):
    parser = build_parser([Command(("things", "do"), "do things", lambda p: None, lambda a, r: None)])
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    out = capsys.readouterr().out
    assert "serve" in out and "things" in out
    assert isinstance(parser, argparse.ArgumentParser)
