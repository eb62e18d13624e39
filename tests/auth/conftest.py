"""Fixtures for the auth tests: a real listening server whose issuer is its own URL."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from kernel.engine.config import Settings
from kernel.host.app import create_app, runtime_of


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Callable[..., Any]]:
    """``server = await live(**overrides)``: a TestServer on 127.0.0.1 with issuer = its URL."""
    servers: list[TestServer] = []

    async def start(**overrides: Any) -> TestServer:
        port = free_port()
        app = create_app(settings.with_(public_url=f"http://127.0.0.1:{port}", **overrides))
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for s in servers:
        await s.close()


def authority_of(server_or_client: Any) -> Any:
    app = getattr(server_or_client, "app", None) or server_or_client.server.app
    from plugins.auth import authority_of

    return authority_of(runtime_of(app))
