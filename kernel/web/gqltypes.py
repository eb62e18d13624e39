"""GraphQL object, input and enum types generated from the contract's messages.

A plugin writes only its root fields (``extend type Query/Mutation``) by hand; every
type those fields return, and every input object their arguments take, is generated
here from the bus method's response and request messages, so GraphQL cannot drift
from REST: same camelCase field names, same nullability, same docs.

Mapping (walks the same type hints as :class:`kernel.core.messages.SchemaSet`):

- ``str`` is ``String`` (``ID`` for ``Uuid`` and for fields named ``id`` / ``*_id``),
  ``bool`` ``Boolean``, ``float`` ``Float``;
- ``int`` is ``Int``, except money: fields named ``*_minor`` and fields typed
  :data:`kernel.core.messages.MinorUnits` are ``Long`` (64-bit, as on the bus and in REST);
- ``T | None`` is nullable, everything else non-null (in inputs, a field with a default is
  optional: left out or null, the default applies); tuples are lists;
- a message is an object type named by its class (or ``@message(graphql=...)``), and an
  input type named ``<Class>Input`` (or ``@message(graphql_input=...)``);
- ``Literal`` of names and ``enum.Enum`` classes are enums, named by the module-level alias
  they are declared under (``OrderStatus = Literal[...]``), else ``<Class><Field>``;
- an ``Any`` field has no GraphQL shape of its own: it declares one with
  ``constraint(graphql=...)``, nullability included (``Shape | None``); the JSON value
  must have that shape, or the plugin's resolver reshapes it.

This module knows no GraphQL engine; kernel.web.graphql feeds its SDL to tartiflette.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import sys
import typing
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from ..core.messages import Format, GraphQLScalar, _is_optional, camel, graphql_names

LONG = "Long"
LONG_SDL = '''"""A 64-bit signed integer (money in minor units), sent as a JSON number like REST sends it."""
scalar Long
'''
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_RESERVED_ENUM_VALUES = {"true", "false", "null"}
# A hand-written definition (not an ``extend``) in an SDL fragment.
DEFINITION = re.compile(r'^\s*(type|input|enum|scalar|interface|union)\s+([_A-Za-z][_0-9A-Za-z]*)', re.M)


class GraphQLTypeError(TypeError):
    """A message cannot be expressed in GraphQL, or two of them claim one name."""


def _description(text: str | None, indent: str = "") -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return f'{indent}"""{text.replace(chr(92), chr(92) * 2).replace(chr(34) * 3, chr(92) + chr(34) * 3)}"""\n'


def _class_doc(cls: type) -> str | None:
    doc = cls.__doc__
    if not doc or doc.startswith(cls.__name__ + "("):  # the dataclass's generated signature
        return None
    return doc.strip()


class TypeSet:
    """The GraphQL types reached from a set of messages, each generated once.

    ``owners`` remembers what each name was generated from, so that two different
    messages claiming one name (across plugins too) are refused with both named.
    """

    def __init__(self) -> None:
        self.defs: dict[str, str] = {}
        self.owners: dict[str, Any] = {}
        self.uses_long = False

    # ---------------------------------------------------------------- entry points

    def output(self, tp: Any) -> str:
        """The output type reference of ``tp`` (a message, or a tuple of messages), generating what it needs."""
        return self._ref(tp, {}, "", None, inputs=False)

    def inputs_of(self, request: type) -> None:
        """Generate the input types the fields of a request message need (its fields are root arguments)."""
        hints = typing.get_type_hints(request, include_extras=True)
        for f in dataclasses.fields(request):
            # Scalar and enum arguments are written in the root field; only objects need a type.
            if f.metadata.get("graphql") is not None or _holds_message(hints[f.name]):
                self._ref(hints[f.name], f.metadata, f.name, request, inputs=True)

    def sdl(self) -> str:
        """The generated definitions (the ``Long`` scalar is the kernel's base SDL: :data:`LONG_SDL`)."""
        return "\n".join(self.defs[name] for name in sorted(self.defs))

    def names(self) -> set[str]:
        return set(self.defs) | {LONG}

    # ---------------------------------------------------------------- the walk

    def _claim(self, name: str, owner: Any, what: str) -> bool:
        """True when ``name`` still needs generating; refuses a second owner."""
        if not _NAME.fullmatch(name):
            raise GraphQLTypeError(f"{what}: {name!r} is not a GraphQL name")
        known = self.owners.get(name)
        if known is None:
            self.owners[name] = owner
            self.defs[name] = ""  # placeholder against recursion
            return True
        if known == owner:
            return False
        raise GraphQLTypeError(f"GraphQL type {name} would be generated from both {_label(known)} and "
                               f"{_label(owner)}: name one of them with @message(graphql=..., graphql_input=...)")

    def _ref(self, tp: Any, meta: Mapping[str, Any], fname: str, owner: type | None, *, inputs: bool) -> str:
        # A declared GraphQL shape replaces the type, nullability included (``Shape | None``).
        tp = meta.get("graphql") or tp
        optional, inner = _is_optional(tp)
        return self._inner(inner, {}, fname, owner, inputs=inputs) + ("" if optional else "!")

    def _inner(self, tp: Any, meta: Mapping[str, Any], fname: str, owner: type | None, *, inputs: bool) -> str:
        where = f"{owner.__module__}.{owner.__qualname__}.{fname}" if owner is not None else repr(tp)
        origin = typing.get_origin(tp)
        if origin is Annotated:
            base, *extras = typing.get_args(tp)
            for extra in extras:
                if isinstance(extra, GraphQLScalar):
                    self.uses_long |= extra.name == LONG
                    return extra.name
                if isinstance(extra, Format) and extra.name == "uuid":
                    return "ID"
            return self._inner(base, meta, fname, owner, inputs=inputs)
        if tp is bool:
            return "Boolean"
        if tp is int:
            if fname.endswith("_minor"):
                self.uses_long = True
                return LONG
            return "Int"
        if tp is float:
            return "Float"
        if tp is str:
            return "ID" if fname == "id" or fname.endswith("_id") else "String"
        if origin is typing.Literal or (isinstance(tp, type) and issubclass(tp, enum.Enum)):
            return self._enum(tp, fname, owner, where)
        if origin in (list, tuple):
            args = [a for a in typing.get_args(tp) if a is not Ellipsis]
            if len(args) != 1:
                raise GraphQLTypeError(f"{where}: only homogeneous tuples (tuple[T, ...]) have a GraphQL type")
            return f"[{self._ref(args[0], {}, fname, owner, inputs=inputs)}]"
        if dataclasses.is_dataclass(tp):
            return self._object(typing.cast(type, tp), inputs=inputs)
        raise GraphQLTypeError(f"{where}: {tp!r} has no GraphQL type; declare one with constraint(graphql=...)")

    def _object(self, cls: type, *, inputs: bool) -> str:
        out_name, in_name = graphql_names(cls)
        name = in_name if inputs else out_name
        if not self._claim(name, (cls, inputs), f"{cls.__module__}.{cls.__qualname__}"):
            return name
        hints = typing.get_type_hints(cls, include_extras=True)
        lines = []
        for f in dataclasses.fields(cls):
            ref = self._ref(hints[f.name], f.metadata, f.name, cls, inputs=inputs)
            if inputs and ref.endswith("!") and _has_default(f):
                ref = ref[:-1]  # optional in GraphQL too: left out (or null), the message's default applies
            lines.append(f"{_description(f.metadata.get('doc'), '  ')}  {camel(f.name)}: {ref}")
        if not lines:
            raise GraphQLTypeError(f"{cls.__module__}.{cls.__qualname__} has no fields: GraphQL types need one")
        kind = "input" if inputs else "type"
        self.defs[name] = f"{_description(_class_doc(cls))}{kind} {name} {{\n" + "\n".join(lines) + "\n}\n"
        return name

    def _enum(self, tp: Any, fname: str, owner: type | None, where: str) -> str:
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            values = [m.value for m in tp]
            name = tp.__name__
        else:
            values = list(typing.get_args(tp))
            name = _alias_name(tp, owner) or (owner.__name__ if owner else "") + camel(fname)[:1].upper() + camel(fname)[1:]
        if not all(isinstance(v, str) and _NAME.fullmatch(v) and v not in _RESERVED_ENUM_VALUES for v in values):
            return "String"  # values that are not GraphQL names ("order.created") stay strings
        if self._claim(name, ("enum", tuple(values)), where):
            self.defs[name] = f"enum {name} {{\n" + "\n".join(f"  {v}" for v in values) + "\n}\n"
        return name


def _has_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _holds_message(tp: Any) -> bool:
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return True
    return any(_holds_message(a) for a in typing.get_args(tp) if a is not Ellipsis)


def _alias_name(tp: Any, owner: type | None) -> str | None:
    """The module-level name a Literal is declared under in its message's module (``OrderStatus``)."""
    if owner is None:
        return None
    module = sys.modules.get(owner.__module__)
    for key, value in vars(module or object()).items():
        if not key.startswith("_") and typing.get_origin(value) is typing.Literal and value == tp:
            return key
    return None


def _label(owner: Any) -> str:
    if isinstance(owner, tuple) and owner and isinstance(owner[0], type):
        cls, inputs = owner
        return f"{cls.__module__}.{cls.__qualname__}" + (" (as input)" if inputs else "")
    if isinstance(owner, tuple) and owner and owner[0] == "enum":
        return "an enum of " + ", ".join(owner[1])
    return repr(owner)


def handwritten_types(sdl: str) -> list[tuple[str, str]]:
    """(kind, name) of every type an SDL fragment defines by hand (``extend`` excluded)."""
    stripped = re.sub(r'"""(?:[^"]|"(?!""))*"""|"(?:\\.|[^"\\\n])*"|#[^\n]*', "", sdl)
    return [(m.group(1), m.group(2)) for m in DEFINITION.finditer(stripped)]


def generate(methods: Iterable[tuple[Any, bool]], extra: Iterable[type] = ()) -> TypeSet:
    """The types of ``methods`` ((bus method, walk its response?)) plus ``extra`` output messages."""
    types = TypeSet()
    for method, walk_response in methods:
        types.inputs_of(method.request_type)
        if walk_response:
            types.output(method.response_type)
    for cls in extra:
        types.output(cls)
    return types
