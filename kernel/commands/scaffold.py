"""``shop plugins new NAME``: write a working third-party plugin distribution to start from.

The skeleton has one of each contribution (a table and its migration, a bus
service, REST routes, GraphQL fields, an event and its handler, a CLI command)
and a test of its own that passes against a real PostgreSQL and Redis. It
depends on the kernel only, so it runs before any other plugin is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ..host.loader import ENTRY_POINT_GROUP
from ..host.plugin import CliError

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_TOKEN = re.compile(r"\{\{(\w+)\}\}")


class ScaffoldError(Exception):
    """A one-line reason why nothing was written."""


def _names(name: str) -> dict[str, str]:
    parts = name.split("_")
    camel_tail = "".join(p.capitalize() for p in parts[1:])
    return {
        "name": name,
        "pkg": f"shop_{name}",
        "dist": "shop-" + name.replace("_", "-"),
        "url": name.replace("_", "-"),
        "Camel": "".join(p.capitalize() for p in parts),
        "camel": parts[0] + camel_tail,
    }


def validate(name: str, dest: Path) -> None:
    if not NAME_RE.match(name):
        raise ScaffoldError(f"plugin name {name!r} must match {NAME_RE.pattern} (lowercase, digits, underscores)")
    installed = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if name in installed or name == "kernel":
        raise ScaffoldError(f"a plugin called {name!r} already exists; choose another name")
    if importlib.util.find_spec(f"shop_{name}") is not None:
        raise ScaffoldError(f"a Python package shop_{name} is already installed; choose another name")
    if dest.exists():
        raise ScaffoldError(f"{dest} already exists; choose another --dir")


def _render(template: str, names: dict[str, str]) -> str:
    return _TOKEN.sub(lambda m: names[m.group(1)], template)


KINDS = ("plugin", "payment-provider")


def generate(name: str, dest: Path, kind: str = "plugin") -> Path:
    """Write the distribution for plugin ``name`` into ``dest`` (which must not exist); returns ``dest``.

    ``kind``: ``plugin`` (a table, a service, routes, GraphQL, an event, a command) or
    ``payment-provider`` (a provider added through ``shop_payment_providers``).
    """
    dest = Path(dest)
    if kind not in KINDS:
        raise ScaffoldError(f"--kind must be one of {', '.join(KINDS)}")
    validate(name, dest)
    names = _names(name)
    templates = TEMPLATES if kind == "plugin" else PROVIDER_TEMPLATES
    files = {path.replace("PKG", names["pkg"]).replace("NAME", name): _render(text, names)
             for path, text in templates.items()}
    for rel, text in files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.lstrip("\n"), encoding="utf-8")
    return dest


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="plugin name: lowercase letters, digits and underscores, e.g. wishlist")
    parser.add_argument("--dir", default=None, help="where to write the distribution (default ./shop-NAME)")
    parser.add_argument("--kind", default="plugin", choices=KINDS,
                        help="plugin: the full example; payment-provider: a card payment provider (docs/payments.md)")


async def run(args: argparse.Namespace, runtime: Any) -> int:
    dest = Path(args.dir) if args.dir else Path.cwd() / ("shop-" + str(args.name).replace("_", "-"))
    try:
        generate(args.name, dest, getattr(args, "kind", "plugin"))
    except ScaffoldError as exc:
        raise CliError(str(exc)) from None  # the CLI prints it and exits 2
    print(f"created plugin {args.name!r} in {dest}")
    print(f"next: pip install -e {dest} && shop migrate && pytest {dest / 'tests'}")
    return 0


# --------------------------------------------------------------------------- templates
# Paths: PKG is the package (shop_NAME), NAME the plugin name. Text: {{name}}, {{pkg}},
# {{dist}}, {{url}}, {{Camel}}, {{camel}}.

TEMPLATES: dict[str, str] = {}

TEMPLATES["setup.cfg"] = """
[metadata]
name = {{dist}}
version = attr: {{pkg}}.__version__
description = The {{name}} plugin for shopkernel
long_description = file: README.md
long_description_content_type = text/markdown

[options]
python_requires = >=3.11
packages = find:
include_package_data = True
install_requires =
    shopkernel

[options.packages.find]
include =
    {{pkg}}
    {{pkg}}.*

[options.package_data]
{{pkg}} = *.graphql, migrations/*.py

[options.entry_points]
shop.plugins =
    {{name}} = {{pkg}}

[tool:pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
testpaths = tests
filterwarnings =
    ignore::DeprecationWarning
    ignore::aiohttp.web.NotAppKeyWarning
"""

TEMPLATES["pyproject.toml"] = """
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"
"""

TEMPLATES["README.md"] = """
# {{dist}}

The `{{name}}` plugin for shopkernel (generated by `shop plugins new {{name}}`).

```bash
pip install -e .          # registers the entry point shop.plugins: {{name}} = {{pkg}}
shop migrate              # creates the {{name}}_note table
DATABASE_URL=postgresql://... REDIS_URL=redis://... pytest tests
```

It contributes: a table (`{{name}}_note`) and its migration, the bus service
`shop.{{name}}.v1.{{Camel}}`, REST routes `POST /api/{{url}}/notes` and
`GET /api/{{url}}/notes/{id}`, GraphQL `{{camel}}Note(id)` and `add{{Camel}}Note(text)`,
the event `{{name}}.note_added` with a handler, and the command `shop {{name}} count`.
See the tutorial in shopkernel's docs/plugins.md.
"""

TEMPLATES["PKG/__init__.py"] = '''
"""The {{name}} plugin: manifest and thin hook implementations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel.core.events import Subscription
from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import Command, PluginContext, PluginInfo
from kernel.web.graphql import GraphQLPart
from kernel.web.rest import Route

from .contract import {{Camel}}, NoteAdded

__version__ = "0.1.0"
MIGRATIONS = str(Path(__file__).parent / "migrations")  # absolute: used as is by `shop migrate`


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="{{name}}", version=__version__, description="{{name}} notes",
                      migrations=MIGRATIONS, events=(NoteAdded,))


@hookimpl
def shop_tables(ctx: PluginContext) -> list[Any]:
    from .tables import TABLES

    return list(TABLES)


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    from ..core.service import {{Camel}}Servicer

    return [({{Camel}}, {{Camel}}Servicer(ctx))]


@hookimpl
def shop_routes(ctx: PluginContext) -> list[Route]:
    return [
        Route("POST", "/api/{{url}}/notes", {{Camel}}.add_note, status=201, summary="Add a note"),
        Route("GET", "/api/{{url}}/notes/{id}", {{Camel}}.get_note, summary="A note by id"),
    ]


@hookimpl
def shop_graphql(ctx: PluginContext) -> GraphQLPart:
    from ..web.graphql import part

    return part()


@hookimpl
def shop_event_handlers(ctx: PluginContext) -> list[Subscription]:
    from ..core.service import {{Camel}}Servicer

    return [Subscription(NoteAdded, {{Camel}}Servicer(ctx).on_note_added)]


@hookimpl
def shop_cli(ctx: PluginContext) -> list[Command]:
    from .cli import commands

    return commands()
'''

TEMPLATES["PKG/contract.py"] = '''
"""What other plugins may import from {{name}}: messages, the service, events."""

from __future__ import annotations

from kernel.core.events import Event
from kernel.core.messages import constraint, message
from kernel.core.service import CachePolicy, Service, rpc

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


# GraphQL types are generated from the messages (docs/plugins.md, GraphQL); the name given here
# keeps this plugin's type apart from other plugins' notes.
@message(graphql="{{Camel}}Note")
class Note:
    """A {{name}} note."""

    id: str
    text: str
    announced: bool = constraint(doc="Set by the NoteAdded handler, after commit.")
    created_at: str


@message
class AddNote:
    text: str = constraint(min_len=1, max_len=500, strip=True)


@message
class GetNote:
    id: str = constraint(pattern=UUID)


@message
class NoteAdded(Event, topic="{{name}}.note_added"):
    note_id: str


class {{Camel}}(Service, package="shop.{{name}}.v1"):
    add_note = rpc(AddNote, Note, rate_limit="write", write=True)
    get_note = rpc(GetNote, Note, cache=CachePolicy(key=lambda r: f"{{name}}:v1:note:{r.id}", ttl=120),
                   rate_limit="read")
'''

TEMPLATES["PKG/service.py"] = '''
"""The servicer: business logic on the plugin's own table."""

from __future__ import annotations

from typing import Any

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status
from kernel.host.plugin import PluginContext

from .contract import AddNote, GetNote, Note, NoteAdded


def _note(row: Any) -> Note:
    return Note(id=str(row["id"]), text=row["text"], announced=row["announced"],
                created_at=row["created_at"].isoformat())


class {{Camel}}Servicer:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx

    async def add_note(self, req: AddNote, ctx: CallContext) -> Note:
        db = self.ctx.db
        async with db.transaction():
            row = await db.fetchrow("INSERT INTO {{name}}_note (text) VALUES ($1) "
                                    "RETURNING id, text, announced, created_at", req.text)
            # Delivered after the transaction commits; dropped if it rolls back.
            await self.ctx.bus.publish(NoteAdded(note_id=str(row["id"])))
        return _note(row)

    async def get_note(self, req: GetNote, ctx: CallContext) -> Note:
        row = await self.ctx.db.fetchrow(
            "SELECT id, text, announced, created_at FROM {{name}}_note WHERE id = $1::uuid", req.id)
        if row is None:
            raise BusError(Status.NOT_FOUND, "There is no note with this id.")
        return _note(row)

    async def on_note_added(self, event: NoteAdded) -> None:
        await self.ctx.db.execute("UPDATE {{name}}_note SET announced = true WHERE id = $1::uuid", event.note_id)
        await self.ctx.runtime.cache.invalidate([f"{{name}}:v1:note:{event.note_id}"])
'''

TEMPLATES["PKG/tables.py"] = '''
"""Piccolo tables (the migration is the source of truth)."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Text, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class {{Camel}}Note(Table, tablename="{{name}}_note"):
    id = UUID(primary_key=True)
    text = Text()
    announced = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


TABLES = [{{Camel}}Note]
'''

TEMPLATES["PKG/migrations/m0001_init.py"] = '''
"""The {{name}}_note table."""

from kernel.storage.migrate import manager, sql

ID = "2026-11-26T00:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "{{name}} notes"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "{{name}}", DESCRIPTION, sql("""
        CREATE TABLE IF NOT EXISTS {{name}}_note (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            text TEXT NOT NULL CHECK (char_length(text) BETWEEN 1 AND 500),
            announced BOOLEAN NOT NULL DEFAULT false,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
    """))
'''

TEMPLATES["PKG/schema.graphql"] = '''
# Root fields only: {{Camel}}Note is generated from the Note message in contract.py.
# Root fields are nullable, so that one failing field leaves the others' data.

extend type Query {
  "A note by id; null when there is none."
  {{camel}}Note(id: ID!): {{Camel}}Note
}

extend type Mutation {
  "Add a note; announced once the NoteAdded event is handled."
  add{{Camel}}Note(text: String!): {{Camel}}Note
}
'''

TEMPLATES["PKG/graphql.py"] = '''
"""GraphQL resolvers: the same bus calls as the REST routes."""

from __future__ import annotations

from pathlib import Path

from kernel.web.graphql import GraphQLPart, bus_field

from .contract import {{Camel}}

# The root fields; the types they return are generated from the bus methods' messages.
SDL = (Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8")


def part() -> GraphQLPart:
    return GraphQLPart(sdl=SDL, resolvers={
        "Query.{{camel}}Note": bus_field({{Camel}}.get_note, null_if_not_found=True),
        "Mutation.add{{Camel}}Note": bus_field({{Camel}}.add_note),
    })
'''

TEMPLATES["PKG/cli.py"] = '''
"""`shop {{name}} count`: how many notes there are."""

from __future__ import annotations

import argparse
from typing import Any

from kernel.host.plugin import Command


async def _count(args: argparse.Namespace, runtime: Any) -> int:
    print(await runtime.db.fetchval("SELECT count(*) FROM {{name}}_note"))
    return 0


def commands() -> list[Command]:
    return [Command(("{{name}}", "count"), "print the number of {{name}} notes", lambda p: None, _count)]
'''

TEMPLATES["tests/test_NAME.py"] = '''
"""The {{name}} plugin on a real PostgreSQL and Redis (DATABASE_URL, REDIS_URL).

Each test builds a fresh app with an explicit plugin list and runs the plugin's
own migration (idempotent), the way the shop's own tests do.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

import {{pkg}}
from kernel.commands.cli import build_parser
from kernel.engine.config import load_settings
from kernel.host.app import create_app, runtime_of
from kernel.host.loader import call_each, migration_apps
from kernel.storage.migrate import migrate


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    if not os.environ.get("DATABASE_URL"):
        pytest.fail("set DATABASE_URL (and REDIS_URL) to a PostgreSQL database (and Redis) to test against")
    settings = load_settings().with_(redis_prefix=f"t{uuid.uuid4().hex[:8]}:", log_json=False)
    app = create_app(settings, [{{pkg}}])
    async with TestClient(TestServer(app)) as test_client:
        rt = runtime_of(app)
        await migrate(rt.db, migration_apps(settings, rt.plugins))  # the kernel's tables (outbox), then ours
        yield test_client


async def test_a_note_goes_in_over_rest_and_comes_back_over_rest_and_graphql(client: Any) -> None:
    resp = await client.post("/api/{{url}}/notes", json={"text": "  hello  "})
    assert resp.status == 201, await resp.text()
    note = await resp.json()
    assert note["text"] == "hello"
    await runtime_of(client.server.app).outbox.drain()  # NoteAdded is delivered from the outbox, after commit
    got = await (await client.get(f"/api/{{url}}/notes/{note['id']}")).json()
    assert got["id"] == note["id"] and got["announced"] is True  # the event handler ran after commit
    query = '{ {{camel}}Note(id: "' + note["id"] + '") { text announced } }'
    data = await (await client.post("/graphql", json={"query": query})).json()
    assert data["data"]["{{camel}}Note"] == {"text": "hello", "announced": True}
    # The GraphQL type is generated from the Note message: REST's field names, nothing written twice.
    query = '{ __type(name: "{{Camel}}Note") { fields { name } } }'
    data = await (await client.post("/graphql", json={"query": query})).json()
    assert [f["name"] for f in data["data"]["__type"]["fields"]] == list(note)


async def test_bad_input_is_a_400_naming_the_field_and_unknown_ids_are_404(client: Any) -> None:
    resp = await client.post("/api/{{url}}/notes", json={"text": ""})
    assert resp.status == 400 and (await resp.json())["errors"][0]["field"] == "text"
    assert (await client.get("/api/{{url}}/notes/not-a-uuid")).status == 400
    assert (await client.get(f"/api/{{url}}/notes/{uuid.uuid4()}")).status == 404


async def test_the_count_command_prints_the_number_of_notes(client: Any, capsys: Any) -> None:
    await client.post("/graphql", json={"query": 'mutation { add{{Camel}}Note(text: "via graphql") { id } }'})
    rt = runtime_of(client.server.app)
    commands = [c for _lp, cs in call_each(rt.pm, rt.plugins, "shop_cli", lambda lp: None) for c in cs]
    args = build_parser(commands).parse_args(["{{name}}", "count"])
    capsys.readouterr()
    assert await args.command_obj.run(args, rt) == 0
    assert int(capsys.readouterr().out) >= 1
'''


# ---------------------------------------------------------------- payment provider
# `shop plugins new NAME --kind payment-provider`: a provider added through the
# shop_payment_providers hook (see docs/payments.md, "Writing a provider plugin").

PROVIDER_TEMPLATES: dict[str, str] = {
    "setup.cfg": TEMPLATES["setup.cfg"].replace("{{pkg}} = *.graphql, migrations/*.py", "{{pkg}} = *.py"),
    "pyproject.toml": TEMPLATES["pyproject.toml"],
}

PROVIDER_TEMPLATES["README.md"] = """
# {{dist}}

A payment provider for shopkernel (generated by `shop plugins new {{name}} --kind payment-provider`).

```bash
pip install -e .
# then in the shop's config:  [plugins.payments] provider = "{{name}}"
pytest tests
```

`{{pkg}}/provider.py` is where the calls to your gateway go: `authorize` (with the token
your client-side script made; the shop never sees card numbers), `capture`, `void`,
`refund` and `verify_webhook` (HMAC over the raw body). As generated it is an offline
sandbox: tokens `ok_*` succeed, `decline_*` are declined. See docs/payments.md.
"""

PROVIDER_TEMPLATES["PKG/__init__.py"] = '''
"""The {{name}} payment provider plugin."""

from __future__ import annotations

from typing import Any

from kernel.core.messages import constraint, message
from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import PluginContext, PluginInfo

from .provider import {{Camel}}Provider

__version__ = "0.1.0"


@message
class {{Camel}}Config:
    """``[plugins.{{name}}]``."""

    webhook_secret: str = constraint(default="change-me-change-me", min_len=16, max_len=200,
                                     doc="HMAC key of the provider's webhook signatures")


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="{{name}}", version=__version__, description="{{name}} payment provider",
                      requires=("payments",), config={{Camel}}Config)


@hookimpl
def shop_payment_providers(ctx: PluginContext) -> list[Any]:
    return [{{Camel}}Provider(ctx.config.webhook_secret)]
'''

PROVIDER_TEMPLATES["PKG/provider.py"] = '''
"""The {{name}} provider: follows plugins.payments.contract.PaymentProvider.

Replace the sandbox bodies with calls to your gateway's API. Never log request bodies.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

import orjson

from plugins.payments.contract import ProviderResult, WebhookEvent, WebhookRejected

SIGNATURE_HEADER = "{{url}}-signature"


class {{Camel}}Provider:
    name = "{{name}}"

    def __init__(self, webhook_secret: str) -> None:
        self.secret = webhook_secret.encode()

    async def authorize(self, *, token: str, intent_id: str, amount_minor: int, currency: str,
                        capture: bool) -> ProviderResult:
        if token.startswith("decline_"):
            return ProviderResult(status="declined", message="The card was declined.")
        if not token.startswith("ok_"):
            return ProviderResult(status="failed", message="Unknown token.")
        return ProviderResult(status="captured" if capture else "authorized",
                              provider_ref=f"{{name}}_{secrets.token_hex(8)}", brand="visa", last4="4242")

    async def capture(self, *, provider_ref: str, amount_minor: int, currency: str) -> None:
        return None

    async def void(self, *, provider_ref: str) -> None:
        return None

    async def refund(self, *, provider_ref: str, amount_minor: int, currency: str, reference: str) -> str:
        return f"{{name}}_re_{secrets.token_hex(8)}"

    def sign(self, body: bytes) -> str:
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        if not hmac.compare_digest(self.sign(body), headers.get(SIGNATURE_HEADER, "")):
            raise WebhookRejected("bad signature")
        data = orjson.loads(body)
        return WebhookEvent(intent_id=str(data["intentId"]), type=data["type"],
                            provider_ref=str(data.get("providerRef", "")))
'''

PROVIDER_TEMPLATES["tests/test_NAME.py"] = '''
"""The {{name}} provider's own checks (no shop needed)."""

from __future__ import annotations

import orjson
import pytest

from plugins.payments.contract import WebhookRejected
from {{pkg}}.provider import SIGNATURE_HEADER, {{Camel}}Provider


async def test_tokens_decide_the_outcome() -> None:
    p = {{Camel}}Provider("a-secret-of-16-chars")
    ok = await p.authorize(token="ok_1", intent_id="i", amount_minor=100, currency="EUR", capture=True)
    assert ok.status == "captured" and ok.provider_ref
    no = await p.authorize(token="decline_1", intent_id="i", amount_minor=100, currency="EUR", capture=True)
    assert no.status == "declined"


def test_webhooks_need_the_right_signature() -> None:
    p = {{Camel}}Provider("a-secret-of-16-chars")
    body = orjson.dumps({"intentId": "abc", "type": "captured"})
    assert p.verify_webhook(body, {SIGNATURE_HEADER: p.sign(body)}).intent_id == "abc"
    with pytest.raises(WebhookRejected):
        p.verify_webhook(body, {SIGNATURE_HEADER: "0" * 64})
'''
