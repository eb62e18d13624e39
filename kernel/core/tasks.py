"""Stopping background tasks: cancel them and wait until they have ended."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel every task given (None: none running) and wait for all; their errors are dropped."""
    running = [t for t in tasks if t is not None]
    for t in running:
        t.cancel()
    await asyncio.gather(*running, return_exceptions=True)
