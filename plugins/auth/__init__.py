"""Auth plugin (placeholder manifest; being built)."""
from kernel.hookspecs import hookimpl
from kernel.plugin import PluginInfo


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="auth", version="0.1.0", description="OAuth 2.0 / OIDC server, users, sessions")
