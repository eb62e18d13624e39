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
from typing import Any, TypeVar

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


@typing.dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
def message(cls: type[T]) -> type[T]:
    """Declare a message type: a frozen, slotted, keyword-only dataclass."""
    return dataclass(frozen=True, slots=True, kw_only=True)(cls)


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
) -> Any:
    """A dataclass field with validation metadata used by :func:`decode` and OpenAPI."""
    meta = {
        "min": min,
        "max": max,
        "min_len": min_len,
        "max_len": max_len,
        "pattern": re.compile(pattern) if pattern else None,
        "strip": strip,
        "doc": doc,
    }
    if default is dataclasses.MISSING:
        return field(metadata=meta)
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


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
            if "\x00" in value:
                raise FieldError(path, "must not contain NUL characters")
            return value

        return dec_str
    if tp is bytes:
        # Binary fields come from multipart/form-data file parts (kernel.rest), never from JSON.
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
        for key in value:
            if key not in known:
                errors.append(FieldError(f"{prefix}{key}", "is not a known field"))
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


def json_schema(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema (OpenAPI 3.1 dialect) for a type; dataclasses become components."""
    optional, inner = _is_optional(tp)
    if optional:
        return {"anyOf": [json_schema(inner, components), {"type": "null"}]}
    if tp is Any:
        return {}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer", "format": "int64", "minimum": INT64_MIN, "maximum": INT64_MAX}
    if tp is str:
        return {"type": "string"}
    if tp is bytes:
        return {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(tp))}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [m.value for m in tp]}
    if origin in (list, tuple):
        args = typing.get_args(tp)
        return {"type": "array", "items": json_schema(args[0] if args else Any, components)}
    if dataclasses.is_dataclass(tp):
        cls = typing.cast(type, tp)
        name = cls.__name__
        if name not in components:
            components[name] = {}  # placeholder against recursion
            hints = type_hints(cls)
            props: dict[str, Any] = {}
            required: list[str] = []
            for f in dataclasses.fields(cls):
                s = json_schema(hints[f.name], components)
                meta = f.metadata
                target = s
                if "anyOf" in s:
                    target = s["anyOf"][0]
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
                    target["pattern"] = meta["pattern"].pattern
                if meta.get("doc"):
                    s["description"] = meta["doc"]
                props[camel(f.name)] = s
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    required.append(camel(f.name))
            schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
            if required:
                schema["required"] = required
            if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
                schema["description"] = cls.__doc__.strip()
            components[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}
    raise TypeError(f"no schema for {tp!r}")
