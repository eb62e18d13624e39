"""The kernel's own bus service: what was loaded, for admins (REST and GraphQL).

Registered like any plugin's service, so the same interceptors (admin scope) and
the same REST/GraphQL adapters apply, and `shop plugins list` has a twin online.
"""

from __future__ import annotations

from typing import Any

from ..core.context import CallContext
from ..core.messages import message
from ..core.service import Http, Service, rpc
from .graphql import GraphQLPart


@message(graphql="PluginContribution")
class Contribution:
    """A part of the shop a plugin adds."""

    kind: str  # routes, graphql, services, tables, events, pages
    items: tuple[str, ...]


@message(graphql="ShopPlugin")
class PluginView:
    """A loaded plugin (admins only)."""

    name: str
    version: str
    description: str
    requires: tuple[str, ...]
    contributes: tuple[Contribution, ...]


@message
class ListPlugins:
    pass


class System(Service, package="shop.kernel.v1"):
    list_plugins = rpc(ListPlugins, tuple[PluginView, ...], graphql="Query.plugins", scope="admin",
                       rest=Http("GET /api/admin/plugins", "Loaded plugins and what each contributes", tags=("admin",)))


class SystemServicer:
    def __init__(self, plugins: list[Any]) -> None:
        self.plugins = plugins  # LoadedPlugin, in load order

    async def list_plugins(self, req: ListPlugins, ctx: CallContext) -> tuple[PluginView, ...]:
        return tuple(
            PluginView(name=lp.info.name, version=lp.info.version, description=lp.info.description,
                       requires=tuple(lp.info.requires),
                       contributes=tuple(Contribution(kind=k, items=tuple(v))
                                         for k, v in sorted(lp.contributions.items())))
            for lp in self.plugins
        )


GRAPHQL = GraphQLPart(
    # ShopPlugin and PluginContribution are generated from the messages above.
    sdl='extend type Query { "The loaded plugins (admins only)." plugins: [ShopPlugin!] }',
    services=(System,),
)
