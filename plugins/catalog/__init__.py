"""Catalog plugin (placeholder manifest; being built)."""
from kernel.hookspecs import hookimpl
from kernel.plugin import PluginInfo


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="catalog", version="0.1.0", description="categories, products, search, stock")
