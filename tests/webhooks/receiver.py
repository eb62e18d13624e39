"""A real HTTP webhook receiver on 127.0.0.1 that verifies Standard Webhooks signatures with the
``standardwebhooks`` package, optionally failing some requests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool | None = None  # None until a secret is known
    status: int = 200

    @property
    def message(self) -> dict[str, Any]:
        return dict(orjson.loads(self.body))


@dataclass
class Receiver:
    """``plan(n) -> status`` decides the answer to the n-th request (0-based); 0 drops the connection."""

    plan: Callable[[int], int] = lambda n: 200
    secret: str | None = None
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    redirect_hits: int = 0
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def redirect_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/moved"

    def verify(self, r: Received) -> bool:
        assert self.secret is not None
        try:
            Webhook(self.secret).verify(r.body, r.headers)
            return True
        except WebhookVerificationError:
            return False

    def delivered(self) -> list[Received]:
        """Requests answered 2xx, each verified against the secret."""
        out = []
        for r in self.received:
            if 200 <= r.status < 300:
                r.verified = self.verify(r)
                out.append(r)
        return out

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        n = len(self.received)
        status = self.plan(n)
        self.received.append(Received({k.lower(): v for k, v in request.headers.items()}, body, status=status))
        if self.delay:
            await asyncio.sleep(self.delay)
        if status == 0:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        return web.Response(status=status, text="ok" if status < 300 else "no thanks " + "x" * 5000)

    async def _moved(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(location=f"http://127.0.0.1:{self.port}/target")

    async def _target(self, request: web.Request) -> web.StreamResponse:
        self.redirect_hits += 1
        return web.Response(text="should never be reached")

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        app.router.add_post("/moved", self._moved)
        app.router.add_route("*", "/target", self._target)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class ThreadedReceiver(Receiver):
    """The receiver on its own event loop thread, for tests that block (live subprocess shops)."""

    def start_in_thread(self) -> ThreadedReceiver:
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self.start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop_thread(self) -> None:
        asyncio.run_coroutine_threadsafe(self.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
