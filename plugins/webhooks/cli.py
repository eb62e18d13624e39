"""CLI: ``shop webhooks create|list|delete|deliveries|redeliver`` (the same bus methods, as an admin)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from kernel.core.context import CallContext, Principal
from kernel.core.messages import DecodeError, decode, encode
from kernel.core.status import BusError
from kernel.host.plugin import CliError, Command

from .contract import EVENT_TYPES, Webhooks

OPERATOR = Principal(kind="client", subject="cli", client_id="shop-cli", scopes=frozenset({"admin"}))


def _print(obj: Any) -> None:
    sys.stdout.write(orjson.dumps(encode(obj), option=orjson.OPT_INDENT_2).decode() + "\n")


async def _call(rt: Any, method: Any, data: dict[str, Any]) -> Any:
    try:
        request = decode(method.request_type, data)
    except DecodeError as exc:
        raise CliError("; ".join(f"{e.field} {e.message}" for e in exc.errors)) from None
    try:
        return await rt.bus.call(method, request, CallContext(principal=OPERATOR))
    except BusError as exc:
        raise CliError(exc.public_message) from None


async def create(args: argparse.Namespace, rt: Any) -> int:
    events = [e for part in args.events for e in part.replace(",", " ").split()]
    _print(await _call(rt, Webhooks.create_webhook, {"url": args.url, "events": events}))
    return 0


async def list_(args: argparse.Namespace, rt: Any) -> int:
    _print(await _call(rt, Webhooks.list_webhooks, {}))
    return 0


async def delete(args: argparse.Namespace, rt: Any) -> int:
    _print(await _call(rt, Webhooks.delete_webhook, {"id": args.id}))
    return 0


async def deliveries(args: argparse.Namespace, rt: Any) -> int:
    _print(await _call(rt, Webhooks.list_deliveries, {"id": args.id, "limit": args.limit}))
    return 0


async def redeliver(args: argparse.Namespace, rt: Any) -> int:
    _print(await _call(rt, Webhooks.redeliver, {"id": args.id, "deliveryId": args.delivery_id}))
    return 0


def _create_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("url")
    p.add_argument("events", nargs="+", help=f"event types: {', '.join(EVENT_TYPES)}")


def _id_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="webhook id")


def _deliveries_args(p: argparse.ArgumentParser) -> None:
    _id_arg(p)
    p.add_argument("--limit", type=int, default=50)


def _redeliver_args(p: argparse.ArgumentParser) -> None:
    _id_arg(p)
    p.add_argument("delivery_id", help="delivery id")


def commands() -> list[Command]:
    return [
        Command(("webhooks", "create"), "subscribe a URL to event types (prints the secret once)", _create_args,
                create),
        Command(("webhooks", "list"), "list webhook endpoints", lambda p: None, list_),
        Command(("webhooks", "delete"), "delete a webhook endpoint", _id_arg, delete),
        Command(("webhooks", "deliveries"), "recent deliveries to an endpoint, with attempts", _deliveries_args,
                deliveries),
        Command(("webhooks", "redeliver"), "send a delivery again now", _redeliver_args, redeliver),
    ]
