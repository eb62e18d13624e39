"""Wallet plugin (placeholder manifest; being built)."""
from kernel.hookspecs import hookimpl
from kernel.plugin import PluginInfo


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="wallet", version="0.1.0", description="multi-currency wallets on a double-entry ledger")
