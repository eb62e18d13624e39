"""JSON logs and Prometheus metrics (a registry per app: no process globals)."""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import time
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# The request being served by this task (set by the kernel's outer middleware):
# every log line written while serving it carries its id.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("shop_request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to records logged inside a request (unless they carry one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            rid = request_id_var.get()
            if rid is not None:
                record.request_id = rid
        return True


_STD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in _STD:
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class AccessLog:
    """The access log: one line per request, as JsonFormatter writes it, made without a LogRecord.

    Logging a record costs more than a cached read (the record, filters, a formatter walking
    the record's attributes). When the shop's own JSON handler (setup_logging) is the only
    one the access logger reaches, the line is written as that handler would write it, before
    the response goes out (as before: an operator who got the response finds its line). With
    any other handler (a test's capture, a custom setup) it is logged normally.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._second = -1
        self._stamp = ""

    def request(self, fields: dict[str, Any]) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        handler = self._direct_handler()
        if handler is None:
            logger.info("request", extra=fields)
            return
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        line = {"ts": f"{self._stamp}.{int((now - second) * 1000):03d}Z", "level": "info", "logger": logger.name,
                "event": "request", **fields}
        try:
            handler.stream.write(orjson.dumps(line, default=str).decode() + "\n")
            handler.stream.flush()
        except (OSError, ValueError):
            pass  # as logging.Handler.handleError would: a lost log line never fails a request

    def _direct_handler(self) -> logging.StreamHandler[Any] | None:
        """The shop's JSON handler when it alone would receive the access log's records."""
        c: logging.Logger | None = self.logger
        while c is not None:
            if c.filters or c.disabled:
                return None
            if c.parent is None:  # the root: exactly the shop's handler
                hs = c.handlers
                h = hs[0] if len(hs) == 1 else None
                if (isinstance(h, logging.StreamHandler) and getattr(h, "_shop", False)
                        and isinstance(h.formatter, JsonFormatter) and h.level <= logging.INFO
                        and all(isinstance(f, RequestIdFilter) for f in h.filters)):
                    return h
                return None
            if c.handlers or not c.propagate:
                return None
            c = c.parent
        return None


def setup_logging(level: str = "INFO", json: bool = True) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_shop", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._shop = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json else _TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("shop").setLevel(level)
    for noisy in ("aiohttp.access", "asyncio"):
        logging.getLogger(noisy).setLevel("WARNING")


class _TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{line} request_id={rid}" if rid else line


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http = Histogram("shop_http_request_duration_seconds", "HTTP requests by route and status",
                              ["method", "route", "status"], registry=self.registry,
                              buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.bus = Histogram("shop_bus_call_duration_seconds", "Bus calls by method and status code",
                             ["method", "code"], registry=self.registry,
                             buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5))
        self.cache = Counter("shop_cache_lookups_total", "Cache lookups by result", ["result"], registry=self.registry)
        # multiprocess_mode: how /metrics merges the workers' values under `shop serve --workers N`.
        self.redis_up = Gauge("shop_redis_up", "1 when Redis answered the last call", registry=self.registry,
                              multiprocess_mode="livemin")
        self.plugins = Gauge("shop_plugin_loaded", "Loaded plugins", ["plugin", "version"], registry=self.registry,
                             multiprocess_mode="livemax")
        self._bus_children: dict[tuple[str, str], Any] = {}
        self._http_children: dict[tuple[str, str, int], Any] = {}

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        # The labelled child is resolved once per (method, route, status), not per request.
        key = (method, route, status)
        child = self._http_children.get(key)
        if child is None:
            child = self.http.labels(method, route, str(status))
            self._http_children[key] = child
        child.observe(seconds)

    def observe_bus(self, method: str, code: str, seconds: float) -> None:
        child = self._bus_children.get((method, code))
        if child is None:
            child = self.bus.labels(method, code)
            self._bus_children[(method, code)] = child
        child.observe(seconds)


# ----------------------------------------------------- several worker processes

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_multiprocess = False


def enable_multiprocess_metrics() -> None:
    """In a ``shop serve --workers N`` worker, before its app is made: metrics created
    from now on write their samples under ``$PROMETHEUS_MULTIPROC_DIR`` (one file set
    per process), and :func:`exposition` reads every worker's.

    prometheus_client picks its value class from the environment at import time,
    which in the master was before the directory existed; so it is set here.
    """
    global _multiprocess
    from prometheus_client import values

    if not os.environ.get(MULTIPROC_ENV):
        raise RuntimeError(f"{MULTIPROC_ENV} is not set")
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    _multiprocess = True


def exposition(registry: CollectorRegistry) -> bytes:
    """The text for ``/metrics``: this app's registry, or across all workers."""
    if not _multiprocess:
        return bytes(generate_latest(registry))
    from prometheus_client import multiprocess

    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
    return bytes(generate_latest(merged))
