#!/usr/bin/env python3
"""Validate Compose files against the Compose Specification JSON schema.

Offline: the schema is vendored next to this script as ``compose-spec.json``
(the compose-spec/compose-spec ``schema/compose-spec.json``, Apache-2.0, see
``compose-spec.LICENSE``; taken from the copy that check-jsonschema 0.39.0
ships, sha256 d549057e...0e64).

Besides the schema, a few things `docker compose` rejects (or that this project
forbids) are checked, since the schema cannot see them:

* duplicate keys in one YAML mapping (PyYAML would silently keep the last);
* the obsolete top-level ``version:`` key;
* ``depends_on`` naming a service that does not exist;
* a service mounting a named volume that the top-level ``volumes:`` lacks.

Usage::

    check_compose_schema.py [FILE ...]    # default: compose.yml next to scripts/
    check_compose_schema.py --self-test   # broken documents must fail, a good one pass

Exit status: 0 when every file is valid, 1 otherwise (2 for usage errors).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, best_match

HERE = Path(__file__).resolve().parent
SCHEMA_PATH = HERE / "compose-spec.json"
DEFAULT_FILE = HERE.parent / "compose.yml"

MERGE_TAG = "tag:yaml.org,2002:merge"


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (merge keys ``<<`` may be overridden)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == MERGE_TAG:
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node, deep=True))


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    return schema


def _where(path: Any) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "<root>"


def _schema_errors(doc: Any, schema: dict[str, Any]) -> Iterator[str]:
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema)
    # Specific errors first; "unevaluated properties" often just echoes them.
    errors: list[ValidationError] = sorted(
        validator.iter_errors(doc),
        key=lambda e: (
            e.validator == "unevaluatedProperties",
            [str(p) for p in e.absolute_path],
        ),
    )
    for err in errors:
        # For oneOf/anyOf the top message is vague; show the deepest failing branch too.
        detail = None
        if err.context:
            depth = max(len(e.absolute_path) for e in err.context)
            detail = best_match(e for e in err.context if len(e.absolute_path) == depth)
        msg = f"{_where(err.absolute_path)}: {err.message}"
        if detail is not None and detail.message != err.message:
            msg += f" (closest match: {_where(detail.absolute_path)}: {detail.message})"
        yield msg


def _named_volume_sources(service: dict[str, Any]) -> Iterator[str]:
    for vol in service.get("volumes") or []:
        if isinstance(vol, str):
            source = vol.split(":", 1)[0] if ":" in vol else ""
            kind = "volume"
        elif isinstance(vol, dict):
            source = str(vol.get("source") or "")
            kind = str(vol.get("type", "volume"))
        else:
            continue
        # Paths (./x, /x, ~/x) and interpolated sources are bind mounts or unknowable.
        if kind == "volume" and source and not source.startswith((".", "/", "~", "$")):
            yield source


def _policy_errors(doc: Any) -> Iterator[str]:
    if not isinstance(doc, dict):
        return
    if "version" in doc:
        yield "version: the top-level 'version' key is obsolete; remove it"
    services = doc.get("services")
    if not isinstance(services, dict):
        return
    declared_volumes = doc.get("volumes") or {}
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        deps = svc.get("depends_on") or []
        for dep in deps if isinstance(deps, (list, dict)) else []:
            if dep not in services:
                yield f"services.{name}.depends_on: unknown service {dep!r}"
        for source in _named_volume_sources(svc):
            if source not in declared_volumes:
                yield (f"services.{name}.volumes: named volume {source!r} is not declared under top-level 'volumes'")


def check_text(text: str, schema: dict[str, Any]) -> list[str]:
    """Return the problems found in one Compose document (empty when valid)."""
    try:
        doc = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        return [f"YAML error: {exc}"]
    if doc is None:
        return ["<root>: the file is empty"]
    return list(_schema_errors(doc, schema)) + list(_policy_errors(doc))


# Each broken document must be rejected, the good one accepted; otherwise the
# check could pass vacuously (e.g. a schema that accepts everything).
_GOOD = """
services:
  web:
    image: nginx:1
    depends_on:
      db: {condition: service_healthy}
    volumes: [data:/srv]
  db:
    image: postgres:18
volumes:
  data:
"""
_WEB = "services:\n  web:\n    image: nginx:1\n"
_BROKEN = {
    "unknown service key": _WEB + "    imagee: typo\n",
    "bad depends_on condition": _WEB
    + "    depends_on:\n      db: {condition: service_ready}\n"
    + "  db:\n    image: postgres:18\n",
    "restart as YAML boolean": _WEB + "    restart: no\n",
    "unknown top-level key": "services: {}\nservise: {}\n",
    "ports not a list": _WEB + "    ports: {a: 1}\n",
    "obsolete version key": "version: '3.9'\n" + _WEB,
    "depends_on unknown service": _WEB + "    depends_on: [nosuch]\n",
    "undeclared named volume": _WEB + "    volumes: [data:/srv]\n",
    "duplicate key": _WEB + "    image: nginx:2\n",
}


def self_test(schema: dict[str, Any]) -> int:
    failures = 0
    problems = check_text(_GOOD, schema)
    if problems:
        failures += 1
        print(
            f"self-test FAILED: a valid document was rejected: {problems}",
            file=sys.stderr,
        )
    for name, text in _BROKEN.items():
        problems = check_text(text, schema)
        if problems:
            print(f"self-test ok: {name!r} rejected ({problems[0].splitlines()[0]})")
        else:
            failures += 1
            print(
                f"self-test FAILED: broken document {name!r} was accepted",
                file=sys.stderr,
            )
    total = len(_BROKEN) + 1
    if failures:
        print(
            f"compose schema self-test: {failures} of {total} cases FAILED",
            file=sys.stderr,
        )
        return 1
    print(f"compose schema self-test: all {total} cases behaved as expected")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="*", type=Path, help="Compose files (default: compose.yml)")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check that broken documents are rejected",
    )
    args = parser.parse_args(argv)

    try:
        schema = load_schema()
    except (OSError, ValueError, jsonschema.SchemaError) as exc:
        print(f"cannot load the Compose schema {SCHEMA_PATH}: {exc}", file=sys.stderr)
        return 1

    if args.self_test:
        return self_test(schema)

    files: list[Path] = args.files or [DEFAULT_FILE]
    bad = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"{path}: cannot read: {exc}", file=sys.stderr)
            bad += 1
            continue
        problems = check_text(text, schema)
        if problems:
            bad += 1
            print(f"{path}: INVALID against the Compose Specification:", file=sys.stderr)
            for problem in problems:
                print(f"  - {problem}", file=sys.stderr)
        else:
            print(f"{path}: valid (Compose Specification)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
