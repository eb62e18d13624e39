"""Orders plugin (placeholder manifest; being built)."""
from kernel.hookspecs import hookimpl
from kernel.plugin import PluginInfo


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="orders", version="0.1.0", description="cart, checkout, orders",
                      requires=("catalog", "wallet"))
