"""Typed messages: frozen dataclasses that cross the bus.

Everything from outside (REST bodies, query strings, GraphQL arguments) is decoded
through :func:`decode`, which validates types and declared constraints and reports
every bad field by its public (camelCase) name. :func:`encode` turns a message into
JSON-ready data with camelCase keys. Encoders and decoders are built once per class
and cached, so the hot path does no reflection.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict, TypeVar

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

T = TypeVar("T")


class FieldError(Exception):
    """One invalid field; collected into a list by :func:`decode`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DecodeError(Exception):
    """A message failed validation; ``errors`` lists every offending field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


GRAPHQL_NAMES = "__graphql_names__"


@typing.overload
def message(cls: type[T], /) -> type[T]: ...


@typing.overload
def message(*, graphql: str | None = None, graphql_input: str | None = None) -> Callable[[type[T]], type[T]]: ...


@typing.dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
def message(cls: type[T] | None = None, /, *, graphql: str | None = None,
            graphql_input: str | None = None) -> type[T] | Callable[[type[T]], type[T]]:
    """Declare a message type: a frozen, slotted, keyword-only dataclass.

    ``@message(graphql="OAuthGrant", graphql_input="CardPaymentInput")`` names the GraphQL
    types generated from it (kernel.web.gqltypes) where they differ from the class name (output)
    or from the class name plus ``Input`` (input). Said once, here; not inherited.
    """

    def wrap(c: type[T]) -> type[T]:
        out = dataclass(frozen=True, slots=True, kw_only=True)(c)
        if graphql is not None or graphql_input is not None:
            setattr(out, GRAPHQL_NAMES, (graphql, graphql_input))
        return out

    return wrap if cls is None else wrap(cls)


def graphql_names(cls: type) -> tuple[str, str]:
    """(output, input) GraphQL type names of a message class."""
    own, own_input = vars(cls).get(GRAPHQL_NAMES, (None, None))
    return own or cls.__name__, own_input or cls.__name__ + "Input"


class Limits(TypedDict, total=False):
    """Bounds shared by several fields, spread into :func:`constraint`:
    ``ID: Limits = {"min_len": 1, "max_len": 64}`` then ``constraint(**ID)``."""

    min: int
    max: int
    min_len: int
    max_len: int
    pattern: str
    strip: bool


def constraint(
    *,
    default: Any = dataclasses.MISSING,
    min: int | None = None,
    max: int | None = None,
    min_len: int | None = None,
    max_len: int | None = None,
    pattern: str | None = None,
    strip: bool = False,
    doc: str | None = None,
    graphql: Any = None,
) -> Any:
    """A dataclass field with validation metadata used by :func:`decode` and OpenAPI.

    ``graphql`` is the Python type whose GraphQL shape the field has when its own type has
    none (an ``Any`` JSON object): e.g. ``tuple[OptionValue, ...]`` for ``{name: value}``,
    which the plugin's resolver then reshapes.
    """
    meta = {
        "min": min,
        "max": max,
        "min_len": min_len,
        "max_len": max_len,
        "pattern": re.compile(pattern) if pattern else None,
        "strip": strip,
        "doc": doc,
        "graphql": graphql,
    }
    if default is dataclasses.MISSING:
        return field(metadata=meta)
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


# Paged lists share one convention: ``page`` (1-based) and ``page_size`` (default 20, at most 100).


def page_field() -> Any:
    """A list request's ``page``: 1-based."""
    return constraint(default=1, min=1, max=100_000)


def page_size_field(default: int = 20, largest: int = 100) -> Any:
    """A list request's ``page_size``."""
    return constraint(default=default, min=1, max=largest)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


# --------------------------------------------------------------------------- decode


Decoder = Callable[[Any, str], Any]
_decoders: dict[Any, Decoder] = {}
_hints_cache: dict[type, dict[str, Any]] = {}


def type_hints(cls: type) -> dict[str, Any]:
    hints = _hints_cache.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        _hints_cache[cls] = hints
    return hints


def _is_optional(tp: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != len(typing.get_args(tp)):
            return True, args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
    return False, tp


def _type_name(tp: Any) -> str:
    names = {str: "a string", int: "an integer", bool: "a boolean", float: "a number"}
    if tp in names:
        return names[tp]
    if dataclasses.is_dataclass(tp):
        return "an object"
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        return "a list"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    return str(tp)


# Never valid in text from outside: NUL (C strings would cut the value there), the other
# C0 controls but tab, LF and CR, and UTF-16 surrogates (a lone half is not a character).
BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def bad_char_message(ch: str) -> str:
    if ch == "\x00":
        return "must not contain NUL characters"
    if "\ud800" <= ch <= "\udfff":
        return "must not contain lone UTF-16 surrogates"
    return f"must not contain control character U+{ord(ch):04X}"


def _make_decoder(tp: Any) -> Decoder:
    optional, inner = _is_optional(tp)
    if optional:
        inner_dec = decoder_for(inner)

        def dec_optional(value: Any, path: str) -> Any:
            return None if value is None else inner_dec(value, path)

        return dec_optional
    if tp is Any:
        return lambda value, path: value
    if tp is bool:

        def dec_bool(value: Any, path: str) -> Any:
            if isinstance(value, bool):
                return value
            raise FieldError(path, "must be a boolean")

        return dec_bool
    if tp is int:

        def dec_int(value: Any, path: str) -> Any:
            if isinstance(value, bool) or not isinstance(value, int):
                raise FieldError(path, "must be an integer")
            if not INT64_MIN <= value <= INT64_MAX:
                raise FieldError(path, "is out of the 64-bit integer range")
            return value

        return dec_int
    if tp is str:

        def dec_str(value: Any, path: str) -> Any:
            if not isinstance(value, str):
                raise FieldError(path, "must be a string")
            bad = BAD_CHARS.search(value)
            if bad is not None:
                raise FieldError(path, bad_char_message(bad.group()))
            return value

        return dec_str
    if tp is bytes:
        # Binary fields come from multipart/form-data file parts (kernel.web.rest), never from JSON.
        def dec_bytes(value: Any, path: str) -> Any:
            if not isinstance(value, (bytes, bytearray)):
                raise FieldError(path, "must be a file (multipart/form-data)")
            return bytes(value)

        return dec_bytes
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        allowed = typing.get_args(tp)

        def dec_literal(value: Any, path: str) -> Any:
            if value not in allowed:
                raise FieldError(path, "must be " + _type_name(tp))
            return value

        return dec_literal
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        enum_tp = tp

        def dec_enum(value: Any, path: str) -> Any:
            try:
                return enum_tp(value)
            except ValueError:
                raise FieldError(path, "must be " + _type_name(enum_tp)) from None

        return dec_enum
    if origin in (list, tuple):
        args = typing.get_args(tp)
        item_dec = decoder_for(args[0] if args else Any)

        def dec_list(value: Any, path: str) -> Any:
            if not isinstance(value, (list, tuple)):
                raise FieldError(path, "must be a list")
            return tuple(item_dec(v, f"{path}[{i}]") for i, v in enumerate(value))

        return dec_list
    if dataclasses.is_dataclass(tp):
        return _make_dataclass_decoder(typing.cast(type, tp))
    raise TypeError(f"no decoder for type {tp!r}")


def _check_constraints(value: Any, meta: Mapping[str, Any], path: str) -> Any:
    if not meta:
        return value
    if isinstance(value, str):
        if meta.get("strip"):
            value = value.strip()
        if meta.get("min_len") is not None and len(value) < meta["min_len"]:
            if meta["min_len"] == 1:
                raise FieldError(path, "must not be empty")
            raise FieldError(path, f"must be at least {meta['min_len']} characters")
        if meta.get("max_len") is not None and len(value) > meta["max_len"]:
            raise FieldError(path, f"must be at most {meta['max_len']} characters")
        if meta.get("pattern") is not None and not meta["pattern"].fullmatch(value):
            raise FieldError(path, f"must match {meta['pattern'].pattern}")
    elif isinstance(value, bytes):
        if meta.get("min_len") is not None and len(value) < meta["min_len"]:
            raise FieldError(path, "must not be empty" if meta["min_len"] == 1 else
                             f"must be at least {meta['min_len']} bytes")
        if meta.get("max_len") is not None and len(value) > meta["max_len"]:
            raise FieldError(path, f"must be at most {meta['max_len']} bytes")
    elif isinstance(value, int) and not isinstance(value, bool):
        if meta.get("min") is not None and value < meta["min"]:
            raise FieldError(path, f"must be at least {meta['min']}")
        if meta.get("max") is not None and value > meta["max"]:
            raise FieldError(path, f"must be at most {meta['max']}")
    elif isinstance(value, tuple):
        if meta.get("min_len") is not None and len(value) < meta["min_len"]:
            raise FieldError(path, f"must have at least {meta['min_len']} items")
        if meta.get("max_len") is not None and len(value) > meta["max_len"]:
            raise FieldError(path, f"must have at most {meta['max_len']} items")
    return value


_MAX_UNKNOWN_REPORTED = 20


def _make_dataclass_decoder(cls: type) -> Decoder:
    hints = type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        specs.append((f.name, camel(f.name), decoder_for(hints[f.name]), dict(f.metadata), required))
    known = {s[1] for s in specs}

    def dec_object(value: Any, path: str) -> Any:
        if not isinstance(value, Mapping):
            raise FieldError(path or "body", "must be an object")
        errors: list[FieldError] = []
        kwargs: dict[str, Any] = {}
        prefix = f"{path}." if path else ""
        unknown = [key for key in value if key not in known]
        for key in unknown[:_MAX_UNKNOWN_REPORTED]:
            errors.append(FieldError(f"{prefix}{key}", "is not a known field"))
        if len(unknown) > _MAX_UNKNOWN_REPORTED:
            # A body of a million keys must not become a million-line answer.
            errors.append(FieldError(prefix.rstrip(".") or "body",
                                     f"has {len(unknown) - _MAX_UNKNOWN_REPORTED} more unknown fields"))
        for name, public, dec, meta, required in specs:
            fpath = prefix + public
            if public not in value:
                if required:
                    errors.append(FieldError(fpath, "is required"))
                continue
            try:
                kwargs[name] = _check_constraints(dec(value[public], fpath), meta, fpath)
            except FieldError as exc:
                errors.append(exc)
            except DecodeError as exc:
                errors.extend(exc.errors)
        if errors:
            raise DecodeError(errors)
        return cls(**kwargs)

    return dec_object


def decoder_for(tp: Any) -> Decoder:
    dec = _decoders.get(tp)
    if dec is None:
        dec = _make_decoder(tp)
        _decoders[tp] = dec
    return dec


def decode(cls: type[T], data: Any) -> T:
    """Validate ``data`` (JSON-like, camelCase keys) into an instance of ``cls``.

    Raises :class:`DecodeError` listing every bad field.
    """
    try:
        return typing.cast(T, decoder_for(cls)(data, ""))
    except FieldError as exc:
        raise DecodeError([exc]) from None


# --------------------------------------------------------------------------- encode

Encoder = Callable[[Any], Any]
_encoders: dict[type, Encoder] = {}


def _value_encoder(tp: Any) -> Encoder | None:
    """None means: the value is already JSON-ready."""
    optional, inner = _is_optional(tp)
    if optional:
        enc = _value_encoder(inner)
        if enc is None:
            return None
        return lambda v: None if v is None else enc(v)
    if dataclasses.is_dataclass(tp):
        return encoder_for(typing.cast(type, tp))
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        args = typing.get_args(tp)
        item = _value_encoder(args[0]) if args else None
        if item is None:
            return list
        return lambda v: [item(x) for x in v]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return lambda v: v.value
    return None


def encoder_for(cls: type) -> Encoder:
    enc = _encoders.get(cls)
    if enc is not None:
        return enc
    hints = type_hints(cls)
    plan = [(f.name, camel(f.name), _value_encoder(hints[f.name])) for f in dataclasses.fields(cls)]

    def encode_object(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, public, venc in plan:
            v = getattr(obj, name)
            out[public] = v if venc is None else venc(v)
        return out

    _encoders[cls] = encode_object
    return encode_object


def encode(obj: Any) -> Any:
    """A message (or list of messages) as JSON-ready data with camelCase keys."""
    if isinstance(obj, (list, tuple)):
        return [encode(o) for o in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return encoder_for(type(obj))(obj)
    return obj


# ---------------------------------------------------------------------- JSON schema


@dataclass(frozen=True, slots=True)
class Format:
    """The JSON Schema ``format`` of a string field, for documents and generated clients.

    Used through :data:`Uuid` and :data:`Timestamp`: ``Annotated`` metadata that
    :func:`type_hints` strips, so decoding, encoding and the values stay plain strings.
    """

    name: str


@dataclass(frozen=True, slots=True)
class GraphQLScalar:
    """The GraphQL scalar of a field whose Python type alone does not say it (see :data:`MinorUnits`)."""

    name: str


Uuid = Annotated[str, Format("uuid")]
Timestamp = Annotated[str, Format("date-time")]  # RFC 3339, UTC ("...Z")
# A money amount in minor units: 64-bit, GraphQL ``Long``. Fields named ``*_minor`` are amounts
# without saying so; this is for amounts with other names (a price facet's ``min``/``max``).
MinorUnits = Annotated[int, GraphQLScalar("Long")]


def apply_constraints(schema: dict[str, Any], meta: Mapping[str, Any]) -> None:
    """Copy a field's :func:`constraint` metadata onto its schema (the non-null branch when optional)."""
    target = schema["anyOf"][0] if "anyOf" in schema else schema
    if target.get("format") == "binary":  # a file's lengths are bytes, not characters: say so in words
        if meta.get("max_len") is not None:
            schema["description"] = f"A file of at most {meta['max_len']} bytes."
        return
    if meta.get("min") is not None:
        target["minimum"] = meta["min"]
    if meta.get("max") is not None:
        target["maximum"] = meta["max"]
    key_min, key_max = ("minItems", "maxItems") if target.get("type") == "array" else ("minLength", "maxLength")
    if meta.get("min_len") is not None:
        target[key_min] = meta["min_len"]
    if meta.get("max_len") is not None:
        target[key_max] = meta["max_len"]
    if meta.get("pattern") is not None:
        # Anchored: JSON Schema patterns search, decode() matches the whole value.
        target["pattern"] = f"^(?:{meta['pattern'].pattern})$"
    if meta.get("doc"):
        schema["description"] = meta["doc"]


def _enum_schema(values: list[Any]) -> dict[str, Any]:
    # A typed enum: generators make an enum class of it (a bare ``enum`` becomes "any").
    kinds = {type(v) for v in values}
    if kinds == {str}:
        return {"type": "string", "enum": values}
    if kinds == {int}:
        return {"type": "integer", "enum": values}
    return {"enum": values}


class SchemaSet:
    """JSON Schemas (OpenAPI 3.1 dialect) for message types; dataclasses become named components.

    ``closed=True`` is for input: unknown fields are refused (``additionalProperties:
    false``), as :func:`decode` does. ``closed=False`` is for output, which may gain
    fields. A message used both ways gets two components (``Name`` and ``NameInput``);
    two different classes with one name are told apart by their module.
    """

    def __init__(self, components: dict[str, Any] | None = None) -> None:
        self.components: dict[str, Any] = components if components is not None else {}
        self._names: dict[tuple[type, bool], str] = {}

    def schema(self, tp: Any, *, closed: bool = True) -> dict[str, Any]:
        optional, inner = _is_optional(tp)
        if optional:
            return {"anyOf": [self.schema(inner, closed=closed), {"type": "null"}]}
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            base, *extras = typing.get_args(tp)
            out = self.schema(base, closed=closed)
            for extra in extras:
                if isinstance(extra, Format):
                    out["format"] = extra.name
            return out
        if tp is Any:
            return {}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer", "format": "int64", "minimum": INT64_MIN, "maximum": INT64_MAX}
        if tp is str:
            return {"type": "string"}
        if tp is bytes:  # a file part of a multipart/form-data body (kernel.web.rest)
            return {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}
        if origin is typing.Literal:
            return _enum_schema(list(typing.get_args(tp)))
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return _enum_schema([m.value for m in tp])
        if origin in (list, tuple):
            args = typing.get_args(tp)
            return {"type": "array", "items": self.schema(args[0] if args else Any, closed=closed)}
        if origin in (dict, Mapping):  # string keys (JSON objects), typed values
            args = typing.get_args(tp)
            return {"type": "object", "additionalProperties": self.schema(args[1] if args else Any, closed=closed)}
        if dataclasses.is_dataclass(tp):
            return {"$ref": f"#/components/schemas/{self._component(typing.cast(type, tp), closed)}"}
        raise TypeError(f"no schema for {tp!r}")

    def _component(self, cls: type, closed: bool) -> str:
        name = self._names.get((cls, closed))
        if name is not None:
            return name
        name = self._free_name(cls, closed)
        self._names[(cls, closed)] = name
        self.components[name] = {}  # placeholder against recursion
        hints = typing.get_type_hints(cls, include_extras=True)
        props: dict[str, Any] = {}
        required: list[str] = []
        for f in dataclasses.fields(cls):
            s = self.schema(hints[f.name], closed=closed)
            apply_constraints(s, f.metadata)
            props[camel(f.name)] = s
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(camel(f.name))
        schema: dict[str, Any] = {"type": "object", "properties": props}
        if closed:
            schema["additionalProperties"] = False
        if required:
            schema["required"] = required
        if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
            schema["description"] = cls.__doc__.strip()
        self.components[name] = schema
        return name

    def _free_name(self, cls: type, closed: bool) -> str:
        if cls.__name__ not in self.components:
            return cls.__name__
        candidates = []
        if (cls, not closed) in self._names:  # the same message, used the other way
            candidates.append(cls.__name__ + ("Input" if closed else "Output"))
        module = cls.__module__.split(".")
        prefix = "".join(p[:1].upper() + p[1:] for p in module[-2:-1] or module[-1:])
        candidates += [prefix + c for c in [*candidates, cls.__name__]]
        candidates += [f"{prefix}{cls.__name__}{n}" for n in range(2, 100)]
        return next(c for c in candidates if c not in self.components)
