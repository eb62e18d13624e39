"""The typed plugin boundary: per-plugin state slots, declared contributions, periodic duties."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pytest

from kernel.engine.runtime import build_runtime
from kernel.host.hookspecs import contribution, periodic
from kernel.host.plugin import PluginContext


@dataclass
class Counter:
    n: int = 0


def ctx_for(settings, name: str, runtime=None) -> PluginContext:
    rt = runtime or build_runtime(settings)
    return PluginContext(name=name, settings=settings, config=None, runtime=rt, log=logging.getLogger("test"))


def test_a_state_slot_is_made_once_per_plugin_and_app(settings):
    a = ctx_for(settings, "a")
    a.state(Counter).n += 1
    assert ctx_for(settings, "a", a.runtime).state(Counter).n == 1  # another hook call, same app
    assert ctx_for(settings, "b", a.runtime).state(Counter).n == 0  # another plugin
    assert ctx_for(settings, "a").state(Counter).n == 0  # another app
    assert a.runtime.made("a", Counter) is a.state(Counter)


def test_a_slot_made_from_the_context_and_one_asked_for_too_early(settings):
    ctx = ctx_for(settings, "a")
    with pytest.raises(LookupError, match=r"plugin 'a' has made no Counter"):
        ctx.made(Counter)
    made = ctx.state(Counter, lambda: Counter(n=5))
    assert ctx.made(Counter) is made and made.n == 5
    with pytest.raises(TypeError, match="made a str"):
        ctx.state(dict, lambda: "not a dict")  # type: ignore[arg-type,return-value]


SAMPLE_TABLES = ("a", "b")


def sample_part() -> str:
    return "part"


def test_contribution_imports_on_call_and_returns_a_copy_a_call_or_the_object():
    here = __name__.rpartition(".")[0]  # tests.kernel: targets are relative to the plugin package
    tables = contribution(here, ".test_plugin_boundary:SAMPLE_TABLES")()
    assert tables == ["a", "b"] and isinstance(tables, list)
    assert contribution(here, ".test_plugin_boundary:sample_part()")() == "part"
    assert contribution(here, ".test_plugin_boundary:sample_part")() is sample_part
    for bad in ("test_plugin_boundary", ".test_plugin_boundary:", ".m:not an identifier"):
        with pytest.raises(ValueError, match="must look like"):
            contribution(here, bad)


async def test_periodic_runs_the_duty_logs_failures_and_stops_with_the_app(caplog):
    runs: list[int] = []

    async def duty() -> None:
        runs.append(1)
        if len(runs) == 2:
            raise RuntimeError("database away")

    lifespan = periodic("test_duty", 0.01, duty, logging.getLogger("shop.test"))
    gen = lifespan(None)  # type: ignore[arg-type]
    await gen.__anext__()
    while len(runs) < 4:
        await asyncio.sleep(0.01)
    with pytest.raises(StopAsyncIteration):
        await gen.__anext__()
    done = len(runs)
    await asyncio.sleep(0.05)
    assert len(runs) == done  # stopped
    assert any(r.message == "test_duty_failed" for r in caplog.records)
