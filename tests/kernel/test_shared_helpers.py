"""The kernel's shared pieces that plugins build on instead of copying code.

GraphQL root fields bound from the contract (``rpc(graphql=...)``), the {name, value}
pair reshaping, ``Principal.require_user``, ``PluginBound`` and ``cancel_and_wait``.
(``Database.claim_due`` runs in tests/payments/test_refund_recovery.py and
tests/orders/test_fulfilment.py, against PostgreSQL.)
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from kernel.core.context import CallContext, Principal
from kernel.core.messages import constraint, message
from kernel.core.service import Service, rpc
from kernel.core.status import BusError, Status
from kernel.core.tasks import cancel_and_wait
from kernel.host.plugin import PluginBound
from kernel.web.graphql import GraphQLPart, bus_field, object_as_pairs, pairs_as_object


@message
class ThingRef:
    id: str = constraint(min_len=1, max_len=64)


@message
class Thing:
    id: str


class Things(Service, package="shop.test_shared.v1"):
    get_thing = rpc(ThingRef, Thing, graphql="Query.thing", graphql_null_if_not_found=True)
    touch_thing = rpc(ThingRef, Thing, graphql=("Mutation.touchThing", "Mutation.pokeThing"), write=True)
    count_things = rpc(ThingRef, Thing)  # no GraphQL field


class NotFoundBus:
    """Answers every call NOT_FOUND, as the bus does for an unknown id."""

    async def invoke(self, method: Any, request: Any, ctx: CallContext) -> Any:
        raise BusError(Status.NOT_FOUND, "no such thing")


def test_root_fields_declared_on_the_contract_are_bound_to_their_methods() -> None:
    part = GraphQLPart(sdl="", services=(Things,))
    assert sorted(part.resolvers) == ["Mutation.pokeThing", "Mutation.touchThing", "Query.thing"]
    assert all(getattr(part.resolvers[n], "bus_method") is Things.touch_thing  # noqa: B009
               for n in ("Mutation.touchThing", "Mutation.pokeThing"))
    assert getattr(part.resolvers["Query.thing"], "bus_method") is Things.get_thing  # noqa: B009


def test_a_hand_written_resolver_replaces_the_bound_one_of_the_same_name() -> None:
    custom = bus_field(Things.get_thing, args=lambda a, p: {**a, "id": p["id"]})
    part = GraphQLPart(sdl="", services=(Things,), resolvers={"Query.thing": custom})
    assert part.resolvers["Query.thing"] is custom
    assert "Mutation.touchThing" in part.resolvers


async def test_graphql_null_if_not_found_answers_null_and_other_fields_still_fail() -> None:
    part = GraphQLPart(sdl="", services=(Things,))
    gctx = {"ctx": CallContext(), "bus": NotFoundBus()}
    assert await part.resolvers["Query.thing"](None, {"id": "x"}, gctx, None) is None
    with pytest.raises(BusError) as caught:
        await part.resolvers["Mutation.touchThing"](None, {"id": "x"}, gctx, None)
    assert caught.value.status is Status.NOT_FOUND


async def test_free_keyed_objects_travel_as_name_value_pairs() -> None:
    reshape = pairs_as_object("options")
    assert reshape({"options": [{"name": "size", "value": "M"}, {"name": "colour", "value": "Navy"}]}, None) == {
        "options": {"size": "M", "colour": "Navy"}}
    # A name given twice stays visible as an invalid (null) value, for the request's validation.
    assert reshape({"options": [{"name": "size", "value": "M"}, {"name": "size", "value": "L"}]}, None) == {
        "options": {"size": None}}
    assert reshape({}, None) == {}
    serve = object_as_pairs("options")
    assert await serve({"options": {"size": "M"}}, {}, None, None) == [{"name": "size", "value": "M"}]
    assert await serve({"options": None}, {}, None, None) == []
    assert getattr(serve, "pure", False)  # reshapes its parent only: cacheable responses stay cacheable


def test_require_user_gives_the_user_id_and_refuses_a_client() -> None:
    assert Principal(kind="user", user_id="u1").require_user() == "u1"
    with pytest.raises(BusError) as caught:
        Principal(kind="client", client_id="app").require_user()
    assert caught.value.status is Status.PERMISSION_DENIED


def test_plugin_bound_reads_db_and_bus_through_the_context_at_call_time() -> None:
    pctx = SimpleNamespace(runtime=SimpleNamespace(db=None, bus=None))
    bound = PluginBound(pctx)
    pctx.runtime.db, pctx.runtime.bus = "db", "bus"  # opened after the servicer was built
    assert (bound.db, bound.bus, bound.pctx) == ("db", "bus", pctx)


async def test_cancel_and_wait_ends_every_task_given_and_skips_none() -> None:
    async def forever() -> None:
        await asyncio.sleep(3600)

    async def failing() -> None:
        raise RuntimeError("dropped")

    tasks = [asyncio.create_task(forever()), asyncio.create_task(failing())]
    await asyncio.sleep(0)
    await cancel_and_wait(*tasks, None)
    assert all(t.done() for t in tasks)
    await cancel_and_wait()  # nothing to stop
