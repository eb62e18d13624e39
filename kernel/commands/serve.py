"""``shop serve``: one process, or gunicorn supervising N aiohttp workers.

``--workers 1`` (the default) runs the plain aiohttp runner in this process. There
is nothing to supervise inside one process: whatever started it (systemd, the
container runtime, compose's restart policy) restarts it, and gunicorn would only
add a master process and a metrics directory.

``--workers N`` (N > 1) runs gunicorn's arbiter with aiohttp's
``GunicornWebWorker``, programmatically (:class:`Supervisor`), with the app factory
called in each worker after the fork. What the arbiter gives us, instead of a
hand-made pre-fork loop:

- a worker that dies (crash, OOM kill, SIGKILL) is logged and replaced at once;
  the others keep serving, so only the requests the dead worker held fail;
- a worker whose event loop stops answering the heartbeat for ``timeout`` seconds
  is killed and replaced;
- SIGTERM (or SIGINT) on the master closes the listening socket and sends SIGTERM
  to every worker; each stops accepting, finishes its in-flight requests (also
  those whose bodies are still arriving) within ``GRACEFUL_TIMEOUT`` and exits.

The embedded PostgreSQL/Valkey (``kernel.storage.embedded``) and the migrations are run
once, by the master, before it forks. Prometheus metrics aggregate across the
workers: each writes its samples under ``PROMETHEUS_MULTIPROC_DIR``, a temporary
directory this module creates and removes, and ``/metrics`` in any worker reads
them all (``kernel.core.observability.exposition``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from typing import Any

from aiohttp import web

from .. import __version__
from ..core.observability import MULTIPROC_ENV, enable_multiprocess_metrics
from ..engine.config import Settings
from ..host.app import create_app

log = logging.getLogger("shop.kernel.serve")

GRACEFUL_TIMEOUT = 15  # seconds a stopping worker has to finish its requests
HEARTBEAT_TIMEOUT = 30  # seconds a worker's loop may stay silent before it is replaced
# Of the graceful timeout: most to let in-flight requests finish (bodies still arriving
# included), the rest for aiohttp's own shutdown, which cancels what is left.
DRAIN_SECONDS = GRACEFUL_TIMEOUT * 0.8
RUNNER_OPTIONS: dict[str, Any] = {"access_log": None, "max_field_size": 8190, "max_line_size": 8190,
                                  "shutdown_timeout": GRACEFUL_TIMEOUT * 0.15}


class ServeError(Exception):
    """The server could not start; a one-line message for the operator."""


class InFlight:
    """Counts the requests being handled, from the outermost middleware."""

    def __init__(self) -> None:
        self.count = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.count += 1
        self._idle.clear()
        try:
            response: web.StreamResponse = await handler(request)
            if self.draining:
                response.force_close()  # no next request on this connection
            return response
        finally:
            self.count -= 1
            if not self.count:
                self._idle.set()

    async def wait_idle(self, seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds):
                await self._idle.wait()
            return True
        except TimeoutError:
            return False


class DrainingRunner(web.AppRunner):
    """An AppRunner whose cleanup first lets in-flight requests finish.

    aiohttp's own shutdown marks every connection closing and from then on drops
    the bytes that arrive on it (aio-libs/aiohttp#2298), so a request whose body
    was still uploading at SIGTERM hangs and is cancelled. Here the listener is
    closed first and the requests being handled finish, reading their bodies,
    before aiohttp's shutdown runs.
    """

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        self.in_flight = InFlight()
        app.middlewares.insert(0, self.in_flight.middleware)
        super().__init__(app, **kwargs)

    async def cleanup(self) -> None:
        for site in list(self.sites):
            await site.stop()  # stop accepting: new connections are refused
        self.in_flight.draining = True
        if self.in_flight.count:
            log.info("draining", extra={"requests": self.in_flight.count})
            if not await self.in_flight.wait_idle(DRAIN_SECONDS):
                log.warning("drain_timeout", extra={"requests": self.in_flight.count})
        await super().cleanup()


def listen_socket(settings: Settings) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from None
    return sock


def run(settings: Settings) -> int:
    """Serve until SIGTERM/SIGINT, then drain; returns the exit code."""
    sock = listen_socket(settings)
    print(f"shop {__version__} serving on {settings.issuer} (workers: {settings.workers})", flush=True)
    if settings.workers <= 1:
        sock.listen(1024)
        asyncio.run(_serve_until_signalled(settings, sock))
        return 0
    sock.close()  # gunicorn binds its own listener; binding here only gave a clear error
    return _supervised(settings)


# ------------------------------------------------------------------ one process


async def _serve_until_signalled(settings: Settings, sock: socket.socket) -> None:
    """Serve until SIGINT/SIGTERM, then stop accepting and drain in-flight requests.

    Not ``web.run_app``: it cancels its main task on a signal, and under that
    cancellation the drain does not wait for handlers that are still reading.
    """
    runner = DrainingRunner(create_app(settings), handle_signals=False, **RUNNER_OPTIONS)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutdown_requested")
    await runner.cleanup()  # closes the listener, drains the handlers, then app cleanup
    log.info("shutdown_complete")


# ------------------------------------------------------------------ supervised


def _supervised(settings: Settings) -> int:
    metrics_dir = tempfile.mkdtemp(prefix="shop-metrics-")
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = metrics_dir  # inherited by the workers
    master = os.getpid()
    try:
        Supervisor(settings).run()
        return 0
    except BaseException as exc:
        if os.getpid() != master:
            _leave_worker(exc)
        if isinstance(exc, SystemExit):
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise
    finally:
        # Only the master gets here: a worker has left through os._exit above.
        shutil.rmtree(metrics_dir, ignore_errors=True)
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous


def _leave_worker(exc: BaseException) -> None:
    """End a worker process now.

    gunicorn ends a worker by raising SystemExit in the forked child, which would
    unwind through the master's frames: its ``finally`` blocks (stopping the
    embedded PostgreSQL/Valkey, removing the metrics directory) and atexit hooks
    must run in the master only.
    """
    code = exc.code if isinstance(exc, SystemExit) else 1
    status = code if isinstance(code, int) else (0 if code is None else 1)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


def _gunicorn_log_class() -> type:
    from gunicorn import glogging

    class ShopGunicornLog(glogging.Logger):  # type: ignore[misc]
        """gunicorn's own messages (workers booted, killed, replaced) go out through the
        shop's log handlers (JSON lines) instead of a second format on stderr."""

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for handler in list(self.error_log.handlers):
                self.error_log.removeHandler(handler)
            self.error_log.propagate = True

    return ShopGunicornLog


def _post_fork(server: Any, worker: Any) -> None:
    enable_multiprocess_metrics()


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # its live gauges no longer count
    if server.LISTENERS:  # not shutting down: the arbiter replaces it next
        log.error("worker_died", extra={"pid": worker.pid, "action": "replacing"})
    else:
        log.info("worker_stopped", extra={"pid": worker.pid})


def _on_starting(server: Any) -> None:
    log.info("supervisor_starting", extra={"workers": server.num_workers, "pid": os.getpid()})


class Supervisor:
    """gunicorn's arbiter over aiohttp workers, configured from :class:`Settings`.

    A thin ``gunicorn.app.base.BaseApplication``: no command line, no config file;
    each worker calls the app factory after the fork.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def options(self) -> dict[str, Any]:
        host = f"[{self.settings.host}]" if ":" in self.settings.host else self.settings.host
        return {
            "bind": [f"{host}:{self.settings.port}"],
            "workers": self.settings.workers,
            "worker_class": "aiohttp.worker.GunicornWebWorker",
            "graceful_timeout": GRACEFUL_TIMEOUT,  # gunicorn wants whole seconds
            "timeout": HEARTBEAT_TIMEOUT,
            "backlog": 1024,
            "proc_name": "shop",
            "accesslog": None,
            "errorlog": "-",
            "loglevel": self.settings.log_level.lower(),
            "logger_class": _gunicorn_log_class(),
            "control_socket_disable": True,  # no gunicornc socket in $HOME or $XDG_RUNTIME_DIR
            "on_starting": _on_starting,
            "post_fork": _post_fork,
            "child_exit": _child_exit,
        }

    def run(self) -> None:
        from gunicorn.app.base import BaseApplication

        settings, options = self.settings, self.options()

        class _App(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                for key, value in options.items():
                    if key in self.cfg.settings:  # settings differ across gunicorn releases
                        self.cfg.set(key, value)

            def load(self) -> Any:
                async def factory() -> web.AppRunner:
                    return DrainingRunner(create_app(settings), **RUNNER_OPTIONS)

                return factory

        _App().run()
