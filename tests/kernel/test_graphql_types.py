"""Meta-tests: the GraphQL schema and the contract's messages agree.

Object, input and enum types are generated from the messages (kernel.web.gqltypes); a
plugin's SDL holds its root fields. These tests fail when a hand-written type
duplicates a message, when a root field's arguments are not its request message's
fields, when a root field cannot fail on its own (non-null), and when a hook has no test.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from kernel.commands.scaffold import templates
from kernel.core.messages import camel, constraint, graphql_names, message
from kernel.core.service import Service, rpc
from kernel.host import hookspecs
from kernel.host.app import runtime_of
from kernel.web.gqltypes import GraphQLTypeError, TypeSet, handwritten_types
from kernel.web.graphql import GraphQLPart, bus_field, generated_types
from kernel.web.system import GRAPHQL as SYSTEM_GRAPHQL

ROOT = Path(__file__).resolve().parents[2]
REVIEWS = ROOT / "examples" / "shop-reviews"


def _contract_modules() -> list[types.ModuleType]:
    if str(REVIEWS) not in sys.path:
        sys.path.insert(0, str(REVIEWS))
    names = [f"plugins.{p.parent.name}.contract" for p in sorted((ROOT / "plugins").glob("*/contract.py"))]
    names += ["shop_reviews.contract", "kernel.web.system"]
    return [importlib.import_module(n) for n in names]


def all_messages() -> list[type]:
    seen: dict[type, None] = {}
    for mod in _contract_modules():
        for value in vars(mod).values():
            if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == mod.__name__:
                seen[value] = None
    return list(seen)


def sdl_sources() -> dict[str, str]:
    """Every GraphQL SDL fragment the project ships, by where it lives."""
    out = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
           for p in [*sorted((ROOT / "plugins").glob("*/schema.graphql")), *sorted(ROOT.glob("examples/*/*/schema.graphql"))]}
    out["kernel/web/system.py"] = SYSTEM_GRAPHQL.sdl
    out["kernel/commands/templates/plugin/PKG/schema.graphql.tmpl"] = templates("plugin")["PKG/schema.graphql"]
    return out


_BLOCK = re.compile(r'^\s*(?:type|input)\s+(\w+)[^{]*\{(.*?)\}', re.M | re.S)
_FIELD = re.compile(r'^\s*(\w+)\s*[:(]', re.M)
_STRINGS = re.compile(r'"""(?:[^"]|"(?!""))*"""|"(?:\\.|[^"\\\n])*"|#[^\n]*')


def duplicates(sdl: str, messages: list[type]) -> list[str]:
    """Hand-written object/input types of ``sdl`` that copy a message: its GraphQL name, or its
    fields (all of them, or at least three of them and nothing else)."""
    shapes = [(frozenset(camel(f.name) for f in dataclasses.fields(cls)), cls) for cls in messages]
    by_name = {name: cls for cls in messages for name in graphql_names(cls)}
    found = []
    for m in _BLOCK.finditer(_STRINGS.sub("", sdl)):
        if m.group(0).lstrip().startswith("extend"):
            continue
        name, fields = m.group(1), frozenset(_FIELD.findall(m.group(2)))
        twin = by_name.get(name) or next((cls for shape, cls in shapes if len(shape) >= 2 and fields <= shape
                                          and len(fields) >= min(3, len(shape))), None)
        if twin is not None:
            found.append(f"{name} duplicates message {twin.__module__}.{twin.__qualname__}")
    return found


def test_no_hand_written_graphql_type_duplicates_a_message():
    messages = all_messages()
    found = {where: dups for where, sdl in sdl_sources().items() if (dups := duplicates(sdl, messages))}
    assert not found, f"generate these from the messages instead (docs/plugins.md, GraphQL): {found}"


def test_first_party_sdl_holds_root_fields_only():
    """Anything GraphQL-only would be allowed with a comment; today nothing is."""
    defined = {where: handwritten_types(sdl) for where, sdl in sdl_sources().items() if handwritten_types(sdl)}
    assert defined == {}


def test_the_duplicate_check_catches_a_renamed_copy_and_a_same_named_type():
    messages = all_messages()
    copy = 'type MyWallet {\n  "x"\n  id: ID!\n  currency: String!\n  balanceMinor: Long!\n}\nextend type Query { a: Int }'
    assert duplicates(copy, messages) == ["MyWallet duplicates message plugins.wallet.contract.Wallet"]
    assert duplicates("input CardPaymentInput { number: String! }", messages)
    assert duplicates("extend type Query { wallet: Wallet }", messages) == []


# ------------------------------------------------------------------ the generator itself


@message
class _Item:
    price_minor: int
    count: int
    note: str | None = None


@message(graphql="Basket", graphql_input="BasketIn")
class _Basket:
    """A basket."""

    id: str
    items: tuple[_Item, ...]
    state: Any = constraint(doc="open or closed", graphql=tuple[_Item, ...])


@message
class _Other:
    price_minor: int


def test_messages_map_to_graphql_types_with_rest_names_long_money_and_declared_names():
    ts = TypeSet()
    assert ts.output(tuple[_Basket, ...]) == "[Basket!]!"
    assert ts.output(_Basket) == "Basket!"
    basket = ts.defs["Basket"]
    assert '"""A basket."""\ntype Basket {' in basket and "  id: ID!" in basket
    assert "  items: [_Item!]!" in basket and '"""open or closed"""\n  state: [_Item!]!' in basket
    assert "priceMinor: Long!" in ts.defs["_Item"] and "count: Int!" in ts.defs["_Item"]
    assert "note: String\n" in ts.defs["_Item"]
    ts2 = TypeSet()
    ts2._object(_Basket, inputs=True)
    assert ts2.defs["BasketIn"].startswith('"""A basket."""\ninput BasketIn {') and "_ItemInput" in ts2.defs


def test_two_messages_claiming_one_graphql_name_are_refused_naming_both():
    clash = message(graphql="_Item")(type("_Clash", (), {"__annotations__": {"x": int}}))
    ts = TypeSet()
    ts.output(_Item)
    with pytest.raises(GraphQLTypeError, match=r"_Item.*_Clash|_Clash.*_Item"):
        ts.output(clash)


def test_an_any_field_without_a_declared_graphql_shape_is_refused():
    loose = message(type("_Loose", (), {"__annotations__": {"blob": Any}}))
    with pytest.raises(GraphQLTypeError, match=r"constraint\(graphql=\.\.\.\)"):
        TypeSet().output(loose)


class _Hand(Service, package="test.hand.v1"):
    get = rpc(_Other, _Other)


def test_a_plugin_that_writes_a_generated_type_by_hand_is_refused_at_startup():
    part = GraphQLPart(sdl="type _Other { priceMinor: Long! }\nextend type Query { other: _Other }",
                       resolvers={"Query.other": bus_field(_Hand.get)})
    with pytest.raises(RuntimeError, match="plugin 'hand' defines GraphQL type _Other by hand"):
        generated_types([("hand", part)])


# ------------------------------------------------------------------ the built schema

ROOTS = """{ __schema {
  queryType { fields { name args { name } type { kind name ofType { name } } } }
  mutationType { fields { name args { name } type { kind name ofType { name } } } }
} }"""
KERNEL_FIELDS = {"Query.shopVersion", "Mutation.ping"}
# Root fields whose resolver reshapes GraphQL arguments before decoding (see their graphql.py).
RESHAPED: dict[str, set[str]] = {}


async def _roots(client: Any) -> list[tuple[str, dict[str, Any]]]:
    result = await runtime_of(client.server.app).graphql.engine.execute(ROOTS)
    schema = result["data"]["__schema"]
    return [(f"{kind}.{f['name']}", f) for kind, key in (("Query", "queryType"), ("Mutation", "mutationType"))
            for f in schema[key]["fields"]]


async def test_every_root_field_is_nullable_so_one_failure_does_not_null_the_response(make_client):
    client = await make_client()
    strict = [name for name, f in await _roots(client) if f["type"]["kind"] == "NON_NULL" and name not in KERNEL_FIELDS]
    assert strict == [], "root fields that can fail on their own must be nullable"


async def test_root_field_arguments_are_fields_of_their_request_message(make_client):
    client = await make_client()
    rt = runtime_of(client.server.app)
    wrong = []
    for name, f in await _roots(client):
        method = rt.graphql.field_methods.get(name)
        if method is None:
            continue
        known = {camel(x.name) for x in dataclasses.fields(method.request_type)} | {"idempotencyKey"}
        extra = {a["name"] for a in f["args"]} - known - RESHAPED.get(name, set())
        if extra:
            wrong.append(f"{name}: {sorted(extra)} not in {method.request_type.__name__}")
    assert wrong == []


def test_every_hook_has_a_test():
    """A hookspec that no test implements or calls by name is a hook nobody checks."""
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py")
                      if p.name != Path(__file__).name)
    hooks = [n for n, fn in vars(hookspecs).items() if n.startswith("shop_") and callable(fn)]
    untested = [h for h in hooks if not re.search(rf"\b{h}\b", tests)]
    assert untested == [], "write a test that uses these hooks (see tests/kernel/test_app_hooks.py)"

