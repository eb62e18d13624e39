"""Where image files live: a small interface, PostgreSQL by default, and a bounded in-process cache.

Keys are content addresses (``<sha256 of the bytes>.<ext>``), so a key's bytes never
change: any instance may cache them forever, and S3 (or any object store) would only
have to implement :class:`MediaStore` with ``put``/``get``/``delete``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from typing import Protocol

from kernel.storage.db import Database

KEY_RE = re.compile(r"^[0-9a-f]{64}\.(jpg|png|webp)$")
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
MEDIA_PREFIX = "/media/"


def url_of(key: str) -> str:
    """Where the web route (media.py) serves a key; relative, so any instance or CDN origin serves it."""
    return MEDIA_PREFIX + key


class MediaStore(Protocol):
    async def put(self, key: str, content_type: str, data: bytes) -> None:
        """Store ``data`` under ``key``; storing a key that exists is a no-op (same key, same bytes)."""

    async def get(self, key: str) -> tuple[str, bytes] | None:
        """(content type, bytes), or None when there is no such key."""

    async def delete(self, keys: Iterable[str]) -> None:
        """Forget these keys (missing ones are ignored)."""


class PostgresMediaStore:
    """Files as ``bytea`` rows of ``catalog_media_blob``: every instance sees them, nothing on local disk.

    ``put`` joins the caller's transaction when there is one, so an image row and its
    files commit (or roll back) together.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, key: str, content_type: str, data: bytes) -> None:
        await self.db.execute(
            "INSERT INTO catalog_media_blob (key, content_type, data) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
            key, content_type, data)

    async def get(self, key: str) -> tuple[str, bytes] | None:
        row = await self.db.fetchrow("SELECT content_type, data FROM catalog_media_blob WHERE key = $1", key)
        return None if row is None else (row["content_type"], bytes(row["data"]))

    async def delete(self, keys: Iterable[str]) -> None:
        await self.db.execute("DELETE FROM catalog_media_blob WHERE key = ANY($1::text[])", list(keys))


class BlobCache:
    """Least-recently-used bytes by key, bounded by total size; safe because keys are immutable."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[str, tuple[str, bytes]] = OrderedDict()

    def get(self, key: str) -> tuple[str, bytes] | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: str, item: tuple[str, bytes]) -> None:
        n = len(item[1])
        if n > self.max_bytes // 4 or key in self._items:  # one big file must not flush everything else
            return
        self._items[key] = item
        self.size += n
        while self.size > self.max_bytes:
            _k, (_t, old) = self._items.popitem(last=False)
            self.size -= len(old)

    def drop(self, keys: Iterable[str]) -> None:
        for k in keys:
            item = self._items.pop(k, None)
            if item is not None:
                self.size -= len(item[1])
