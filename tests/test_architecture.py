"""Architecture rules that keep the shop a microkernel with plugins."""

from __future__ import annotations

import ast
import re
import types
from pathlib import Path

from aiohttp.test_utils import make_mocked_request

from kernel.core.messages import message
from kernel.core.service import Service, rpc
from kernel.host.app import runtime_of
from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import PluginInfo
from kernel.web.graphql import GraphQLPart, bus_field
from kernel.web.rest import Route

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
    assert users == ["kernel/web/graphql.py"]


# ------------------------------------------------ every public bus method has both adapters

SCHEMA_FIELDS = "{ __schema { types { name fields { name } } } }"


async def adapter_gaps(client) -> tuple[set[str], set[str]]:
    """Public bus methods of a running app without a REST route, and without a GraphQL field.

    REST: the methods the router serves (each route is in the OpenAPI document, built from the
    same list). GraphQL: the methods behind fields (root or nested) that the built schema really has.
    """
    rt = runtime_of(client.server.app)
    public = {m.full_name for m in rt.bus.methods() if not m.options.internal}
    documented = [(path, verb, op["x-bus-method"]) for path, ops in (rt.openapi or {})["paths"].items()
                  for verb, op in ops.items()]
    rest = set()
    for path, verb, method in documented:
        sample = re.sub(r"{[^}]+}", "x", path)
        match = await client.server.app.router.resolve(make_mocked_request(verb.upper(), sample))
        if match.http_exception is None:
            rest.add(method)
    result = await rt.graphql.engine.execute(SCHEMA_FIELDS)
    fields = {f"{t['name']}.{f['name']}" for t in result["data"]["__schema"]["types"] for f in t["fields"] or ()}
    graphql = {m.full_name for name, m in rt.graphql.field_methods.items() if name in fields}
    return public - rest, public - graphql


async def test_every_public_bus_method_is_reachable_from_rest_and_graphql(make_client):
    """Parity: REST and GraphQL are both adapters over the same bus methods (every installed plugin)."""
    client = await make_client()
    no_rest, no_graphql = await adapter_gaps(client)
    assert no_rest == set(), f"bus methods without a REST route: {sorted(no_rest)}"
    # File uploads (request types with bytes fields) are multipart REST only: GraphQL has no file type here.
    from kernel.web.rest import multipart_fields

    uploads = {m.full_name for m in runtime_of(client.server.app).bus.methods() if multipart_fields(m.request_type)}
    assert uploads, "the catalog's image upload is a multipart method"
    assert no_graphql - uploads == set(), f"bus methods without a GraphQL field: {sorted(no_graphql - uploads)}"


@message
class _Ping:
    pass


@message
class _Pong:
    text: str


class _Lopsided(Service, package="test.lopsided.v1"):
    rest_only = rpc(_Ping, _Pong)
    graphql_only = rpc(_Ping, _Pong)
    hidden = rpc(_Ping, _Pong, internal=True)  # internal methods need neither


class _LopsidedServicer:
    async def rest_only(self, req: _Ping, ctx: object) -> _Pong:
        return _Pong(text="rest")

    async def graphql_only(self, req: _Ping, ctx: object) -> _Pong:
        return _Pong(text="graphql")

    async def hidden(self, req: _Ping, ctx: object) -> _Pong:
        return _Pong(text="hidden")


LOPSIDED = types.SimpleNamespace(
    shop_plugin=hookimpl(lambda: PluginInfo(name="lopsided", version="0.0.1")),
    shop_services=hookimpl(lambda ctx: [(_Lopsided, _LopsidedServicer())]),
    shop_routes=hookimpl(lambda ctx: [Route("GET", "/api/lopsided", _Lopsided.rest_only)]),
    shop_graphql=hookimpl(lambda ctx: GraphQLPart(
        sdl="type LopsidedPong { text: String! }\nextend type Query { lopsided: LopsidedPong }",
        resolvers={"Query.lopsided": bus_field(_Lopsided.graphql_only)})),
)


async def test_the_parity_check_names_a_method_missing_either_adapter(make_client):
    client = await make_client([LOPSIDED])
    no_rest, no_graphql = await adapter_gaps(client)
    assert no_rest == {_Lopsided.graphql_only.full_name}
    assert no_graphql == {_Lopsided.rest_only.full_name}


# ------------------------------------------------------------------ kernel layering
# kernel/ is split by concern; a lower layer never imports a higher one, and no two
# modules import each other (directly or round a circle). TYPE_CHECKING imports count:
# an annotation that names a higher layer is a dependency on it too.
KERNEL_LAYERS = ("core", "storage", "engine", "web", "host", "commands")


def kernel_import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the kernel modules it imports, for every module under kernel/ (ast, nothing imported)."""
    files = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
             for p in (root / "kernel").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets.add(base)
                targets.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
        graph[mod] = {t for t in targets if t in files and t != mod and t != "kernel"}
    return graph


def layer_of(module: str) -> int:
    parts = module.split(".")
    return KERNEL_LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in KERNEL_LAYERS else -1


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{mod} ({KERNEL_LAYERS[layer_of(mod)] if layer_of(mod) >= 0 else 'top'}) imports {dep}"
                  for mod, deps in graph.items() for dep in deps if layer_of(dep) > layer_of(mod))


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of two or more modules (Tarjan), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_kernel_module_sits_in_a_layer():
    loose = [m for m in kernel_import_graph() if m.count(".") and layer_of(m) < 0]
    assert not loose, f"kernel modules outside the layers {KERNEL_LAYERS}: {loose}"
    assert set(kernel_import_graph()) >= {f"kernel.{layer}" for layer in KERNEL_LAYERS}


def test_no_kernel_layer_imports_a_higher_one():
    violations = layer_violations(kernel_import_graph())
    assert not violations, "layering " + " < ".join(KERNEL_LAYERS) + " broken:\n" + "\n".join(violations)


def test_the_kernel_import_graph_has_no_cycle():
    cycles = import_cycles(kernel_import_graph())
    assert not cycles, "kernel modules import each other in a circle: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_graph_checks_catch_a_cycle_and_an_upward_import(tmp_path):
    for rel, text in {
        "kernel/__init__.py": "",
        "kernel/core/__init__.py": "",
        "kernel/core/a.py": "from ..web import b\n",
        "kernel/web/__init__.py": "",
        "kernel/web/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from kernel.core.a import X\n",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    graph = kernel_import_graph(tmp_path)
    assert graph["kernel.core.a"] == {"kernel.web", "kernel.web.b"}
    assert layer_violations(graph) == ["kernel.core.a (core) imports kernel.web",
                                       "kernel.core.a (core) imports kernel.web.b"]
    assert import_cycles(graph) == [["kernel.core.a", "kernel.web.b"]]
