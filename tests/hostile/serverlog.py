"""Read a live server's log while it runs.

``LiveShop`` writes each server's stderr to a log file (a pipe nobody reads would
fill up and block the server). This reads that file, so a test can assert that no
request failed inside the server (``request_failed``, ``graphql_resolver_failed``).
"""

from __future__ import annotations

import subprocess
from typing import Any

INTERNAL_EVENTS = ('"event":"request_failed"', '"event":"graphql_resolver_failed"')


class ServerLog:
    def __init__(self, shop: Any) -> None:
        self.shop = shop

    def follow(self, proc: subprocess.Popen[bytes]) -> None:
        """Kept for the fixtures' shape: the log file already holds every process's output."""
        assert proc.stderr is None, "LiveShop should log to a file"

    @property
    def lines(self) -> list[str]:
        return list(self.shop.log_text().splitlines())

    def internal_errors(self) -> list[str]:
        return [ln[:3000] for ln in self.lines if any(e in ln.replace(" ", "") for e in INTERNAL_EVENTS)]

    def mark(self) -> int:
        return len(self.lines)

    def internal_errors_since(self, mark: int) -> list[str]:
        return [ln[:3000] for ln in self.lines[mark:] if any(e in ln.replace(" ", "") for e in INTERNAL_EVENTS)]
