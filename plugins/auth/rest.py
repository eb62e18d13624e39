"""REST adapters over the Users service."""

from __future__ import annotations

from kernel.rest import Route

from .contract import Users

ROUTES = [
    Route("GET", "/api/me", Users.get_me, summary="The signed-in user", tags=("auth",)),
]
