"""The daemon's HTTP server (``[http] listen``): the status page and its API (``pages``),
health, readiness, metrics and push hooks, on the daemon's own event loop (aiohttp).

    GET  /healthz                 the process and its scheduler are alive
    GET  /readyz                  the database answers, and no schedule's rounds are overdue
    GET  /metrics                 Prometheus text format
    POST /hooks/registry          a registry says something was pushed (token required)
    POST /hooks/registry/{token}  the same, for senders that cannot set headers (Docker Hub)

Nothing here blocks the loop: database reads run in threads.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from watcher import __version__
from watcher.config.http import HttpConfig
from watcher.errors import StorageError, WatcherError
from watcher.logs import get_logger
from watcher.service.runtime import Runtime
from watcher.views.containers import container_counts
from watcher.web.hooks import PushHooks
from watcher.web.pages import PageSource, page_routes

log = get_logger("watcher.http")

RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)


def _json(document: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(document), status=status,
                        content_type="application/json")


async def healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    alive = runtime.scheduler_running
    document = {"status": "ok" if alive else "unavailable", "instance": runtime.config.instance,
                "version": __version__}
    if not alive:
        document["reason"] = "the scheduler is not running"
    return _json(document, 200 if alive else 503)


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    store = runtime.store
    problems: list[str] = []
    if store is None:
        problems.append("the database is not open")
    else:
        try:
            await asyncio.to_thread(store.ping)
        except StorageError as exc:
            problems.append(f"the database does not answer: {exc.message}")
    problems += [f"rounds overdue: {late}" for late in runtime.overdue()]
    last = runtime.last_round
    document: dict[str, Any] = {
        "status": "ready" if not problems else "not ready",
        "instance": runtime.config.instance,
        "last_round": None if last is None else {
            "finished_at": last.finished_at.isoformat(), "duration_seconds": last.duration,
            "checked": last.checked, "changed": last.changed, "failed": last.failed},
    }
    if problems:
        document["problems"] = problems
    return _json(document, 200 if not problems else 503)


async def metrics(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    if runtime.store is not None:
        try:
            await asyncio.to_thread(runtime.metrics.refresh, runtime.store)
        except StorageError as exc:
            log.warning("metrics: the database does not answer", error=exc.message)
    body = runtime.metrics.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; "
                                                            "charset=utf-8"})


def make_app(runtime: Runtime, config: HttpConfig) -> web.Application:
    app = web.Application(client_max_size=PushHooks.MAX_BODY)
    app[RUNTIME] = runtime
    hooks = PushHooks(runtime, config.hook_token)
    app.add_routes([
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.get("/metrics", metrics),
        web.post("/hooks/registry", hooks.handle),
        web.post("/hooks/registry/{token}", hooks.handle),
    ])
    if runtime.store is not None:
        replicas = runtime.config.replicas
        source = PageSource(runtime.store, counters={"containers": container_counts},
                            fleet_lease=replicas.lease if replicas.shared else None)
        app.add_routes(page_routes(source, auth_token=config.auth_token))
    app.on_cleanup.append(lambda _app: hooks.close())
    return app


class HttpServer:
    """The server's lifetime: :meth:`start` after the runtime, :meth:`stop` before it."""

    def __init__(self, runtime: Runtime, config: HttpConfig) -> None:
        self._config = config
        self._runner = web.AppRunner(make_app(runtime, config), access_log=None,
                                     handle_signals=False)

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._config.host, self._config.port,
                           reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise WatcherError(
                f"[http] listen {self._config.address}: cannot listen: {exc.strerror or exc}"
            ) from exc
        log.info("http server listening", address=self._config.address)

    async def stop(self) -> None:
        await self._runner.cleanup()
