"""Scopes declared by the plugins that use them: the union is what auth validates, admin implies the
privileged ones, and a method needing an undeclared scope is a startup error."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import plugins.auth
import plugins.catalog
import plugins.orders
import plugins.payments
import plugins.testpay
import plugins.wallet
from kernel.core.context import CallContext
from kernel.core.messages import message
from kernel.core.scopes import Scope, ScopeRegistry
from kernel.core.service import Service, rpc
from kernel.host.app import create_app
from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import PluginContext, PluginError, PluginInfo
from kernel.web.rest import Route
from tests.support.auth_helpers import bearer, token_response

FIRST_PARTY = [plugins.auth, plugins.catalog, plugins.wallet, plugins.orders, plugins.payments, plugins.testpay]


@message
class Nothing:
    pass


@message
class Done:
    ok: bool


class Managed(Service, package="shop.scopetest.v1"):
    manage = rpc(Nothing, Done, scope="orders:manage")


class Undeclared(Service, package="shop.scopetest2.v1"):
    act = rpc(Nothing, Done, scope="nobody:declares")


class Servicer:
    async def manage(self, req: Nothing, ctx: CallContext) -> Done:
        return Done(ok=True)

    async def act(self, req: Nothing, ctx: CallContext) -> Done:
        return Done(ok=True)


class ScopeTestPlugin:
    def __init__(self, service: type[Service], scopes: tuple[Any, ...] = (), name: str = "scopetest") -> None:
        self.service, self.scopes, self.name = service, scopes, name

    @hookimpl
    def shop_plugin(self) -> PluginInfo:
        return PluginInfo(name=self.name, version="0", description="scope tests", scopes=self.scopes)

    @hookimpl
    def shop_services(self, ctx: PluginContext) -> list[tuple[Any, object]]:
        return [(self.service, Servicer())]

    @hookimpl
    def shop_routes(self, ctx: PluginContext) -> list[Route]:
        method = next(iter(self.service.methods.values()))
        return [Route("GET", f"/api/{self.name}", method)]


def test_a_method_needing_a_scope_nobody_declares_is_a_startup_error(settings):
    with pytest.raises(PluginError, match="needs scope 'nobody:declares', which no enabled plugin declares"):
        create_app(settings, [*FIRST_PARTY, ScopeTestPlugin(Undeclared)])
    # Declared by the plugin itself: fine.
    create_app(settings, [*FIRST_PARTY, ScopeTestPlugin(Undeclared, (Scope("nobody:declares", "Do a thing"),))])


@pytest.mark.parametrize("scopes, message", [
    ((Scope("orders:read", "Again"),), "already declared by 'orders'"),
    ((Scope("Bad Name", "x"),), "must match"),
    ((Scope("ok:name", "  "),), "needs a description"),
    (("plain-string",), "must be kernel.core.scopes.Scope"),
    ((Scope("x:y", "X", implied_by=("root",)),), "implied by undeclared 'root'"),
])
def test_bad_scope_declarations_are_startup_errors_naming_the_plugin(settings, scopes, message):
    with pytest.raises(PluginError, match=message):
        create_app(settings, [*FIRST_PARTY, ScopeTestPlugin(Undeclared, scopes)])


def test_the_registry_is_the_union_of_the_plugins_declarations(settings):
    from kernel.host.app import runtime_of

    rt = runtime_of(create_app(settings, FIRST_PARTY))
    names = set(rt.scopes.names())
    spec = {"openid", "profile", "email", "catalog:read", "cart:write", "orders:read", "orders:write",
            "wallet:read", "wallet:write", "admin"}
    assert spec | {"orders:manage", "catalog:write", "payments:write"} == names
    assert rt.scopes.owner("orders:manage") == "orders" and rt.scopes.owner("admin") == "kernel"
    assert rt.scopes.privileged("orders:manage") and rt.scopes.privileged("catalog:write")
    assert not rt.scopes.privileged("orders:write")
    assert rt.scopes.expand(["admin"]) >= {"admin", "orders:manage", "catalog:write"}
    assert rt.scopes.expand(["orders:write"]) == {"orders:write"}


def test_implication_is_transitive():
    reg = ScopeRegistry()
    reg.add("k", Scope("admin", "All"))
    reg.add("p", Scope("a:manage", "Manage A", implied_by=("admin",)))
    reg.add("p", Scope("a:write", "Write A", implied_by=("a:manage",)))
    assert reg.expand(["admin"]) == {"admin", "a:manage", "a:write"}
    assert reg.privileged("a:write")


async def test_admin_implies_orders_manage_where_scopes_are_checked_and_users_never_get_it(make_client):
    client = await make_client([*FIRST_PARTY, ScopeTestPlugin(Managed)])
    tag = uuid.uuid4().hex[:8]
    admin = await token_response(client, f"root-{tag}@example.test", admin=True, scopes=("openid",))
    assert admin["scope"] == "openid admin"  # the token says admin...
    resp = await client.get("/api/scopetest", headers=bearer(admin["access_token"]))
    assert resp.status == 200 and await resp.json() == {"ok": True}  # ...and that covers orders:manage
    user = await token_response(client, f"shopper-{tag}@example.test", scopes=("openid", "orders:manage"))
    assert user["scope"] == "openid"  # not an admin: the privileged scope is not granted
    resp = await client.get("/api/scopetest", headers=bearer(user["access_token"]))
    assert resp.status == 403 and "orders:manage" in (await resp.json())["detail"]
    boss = await token_response(client, f"boss-{tag}@example.test", admin=True, scopes=("openid", "orders:manage"))
    assert boss["scope"] == "openid orders:manage admin"
    assert (await client.get("/api/scopetest", headers=bearer(boss["access_token"]))).status == 200


async def test_discovery_lists_every_declared_scope(make_client):
    import shop_reviews

    client = await make_client([*FIRST_PARTY, shop_reviews])
    doc = await (await client.get("/.well-known/openid-configuration")).json()
    assert {"reviews:write", "orders:manage", "catalog:write", "admin", "openid"} <= set(doc["scopes_supported"])


async def test_a_scope_of_a_switched_off_plugin_is_dropped_for_clients_registered_with_it(make_client):
    from tests.auth.conftest import authority_of

    client = await make_client([plugins.auth, plugins.catalog, plugins.wallet])  # orders off
    authority = authority_of(client)
    redirect = f"{authority.issuer}/app/cb"
    cid, _ = await authority.create_client("Old app", [redirect], ["openid", "orders:read"], False)
    query = {"response_type": "code", "client_id": cid, "redirect_uri": redirect, "state": "s",
             "code_challenge": "a" * 43, "code_challenge_method": "S256"}
    resp = await client.get("/oauth/authorize", params={**query, "scope": "openid orders:read"},
                            allow_redirects=False)
    assert resp.status == 200  # orders:read is simply not granted while orders is off
    resp = await client.get("/oauth/authorize", params={**query, "scope": "openid made:up"}, allow_redirects=False)
    assert resp.status == 303 and "error=invalid_scope" in resp.headers["Location"]
