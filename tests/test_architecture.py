"""Architecture rules that keep the shop a microkernel with plugins."""

from __future__ import annotations

import ast
from pathlib import Path

from kernel.app import create_app, runtime_of

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "plugins"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    mods: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module)
    return mods


def test_kernel_imports_no_plugin():
    offenders = [str(p) for p in (ROOT / "kernel").rglob("*.py") if any(m.startswith("plugins") for m in imported_modules(p))]
    assert not offenders


def test_plugins_import_other_plugins_only_through_their_contract():
    offenders = []
    for plugin_dir in PLUGINS.iterdir():
        if not plugin_dir.is_dir() or plugin_dir.name.startswith("_"):
            continue
        for py in plugin_dir.rglob("*.py"):
            for mod in imported_modules(py):
                parts = mod.split(".")
                if parts[0] == "plugins" and len(parts) > 1 and parts[1] != plugin_dir.name:
                    if parts[2:] != ["contract"]:
                        offenders.append(f"{py.relative_to(ROOT)} imports {mod}")
    assert not offenders, offenders


def test_only_the_graphql_module_imports_tartiflette():
    users = [str(p.relative_to(ROOT)) for base in ("kernel", "plugins") for p in (ROOT / base).rglob("*.py")
             if any(m.startswith("tartiflette") for m in imported_modules(p))]
    assert users == ["kernel/graphql.py"]


def test_every_public_bus_method_is_reachable_from_rest_and_graphql(settings):
    """Parity: REST and GraphQL are both adapters over the same bus methods."""
    app = create_app(settings)
    rt = runtime_of(app)
    rest = {op["x-bus-method"] for ops in (rt.openapi or {})["paths"].values() for op in ops.values()}
    graphql = {m.full_name for m in rt.graphql.field_methods.values()} if rt.graphql.field_methods else set()
    # GraphQL field methods are known once the engine is built; collect from the parts instead.
    from kernel import system
    from kernel.plugin import call_each

    parts = [*call_each(rt.pm, rt.plugins, "shop_graphql", lambda lp: _ctx(rt, lp)), (None, system.GRAPHQL)]
    for _lp, part in parts:
        for fn in part.resolvers.values():
            method = getattr(fn, "bus_method", None)
            if method is not None:
                graphql.add(method.full_name)
        graphql.update(m.full_name for m in part.fields.values())
    public = {m.full_name for m in rt.bus.methods() if not m.options.internal}
    assert public - rest == set(), f"bus methods without a REST route: {sorted(public - rest)}"
    # File uploads (request types with bytes fields) are multipart REST only: GraphQL has no file type here.
    from kernel.rest import multipart_fields

    uploads = {m.full_name for m in rt.bus.methods() if multipart_fields(m.request_type)}
    assert public - uploads - graphql == set(), f"bus methods without a GraphQL field: {sorted(public - graphql)}"


def _ctx(rt, lp):
    import logging

    from kernel.plugin import PluginContext

    return PluginContext(name=lp.info.name, settings=rt.settings, config=lp.config, runtime=rt,
                         log=logging.getLogger("test"))
