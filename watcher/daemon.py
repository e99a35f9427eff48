"""The long-running daemon: one asyncio event loop for the life of the process, running the
:class:`~watcher.service.runtime.Runtime` until SIGTERM or SIGINT.

SIGHUP reloads the config: a config that does not load is refused with one log line naming
file and key, and the running one goes on.

The first SIGTERM or SIGINT stops cleanly: no new check starts, the checks in flight finish and are
recorded (for at most the stop timeout), and the process exits 0. A second signal exits at
once with status 128 + the signal number; the database stays consistent, since every write
is one transaction.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable

import structlog

from watcher.config import Config
from watcher.errors import WatcherError
from watcher.logs import get_logger
from watcher.service.runtime import DEFAULT_STOP_TIMEOUT, Runtime
from watcher.store.engine import mask
from watcher.web.server import HttpServer

log = get_logger("watcher.daemon")


def run_daemon(
    config: Config,
    *,
    stop_timeout: float = DEFAULT_STOP_TIMEOUT,
    reload: Callable[[], Config] | None = None,
) -> None:
    """Check on the configured schedules until SIGTERM or SIGINT; on SIGHUP, ``reload()``
    gives the new config (it raises a :class:`WatcherError` for a config that is wrong).

    The database is migrated once at start-up; a round that fails as a whole (database
    unreachable, say) is logged and the next one runs on schedule.
    """
    asyncio.run(_serve(config, stop_timeout, reload))


async def _serve(
    config: Config, stop_timeout: float, reload: Callable[[], Config] | None
) -> None:
    stop = asyncio.Event()
    reloads: set[asyncio.Task[None]] = set()

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if not stop.is_set():
            log.info("stopping", signal=name, stop_timeout_seconds=stop_timeout)
            stop.set()
            return
        log.warning("stopping at once", signal=name)
        sys.stderr.flush()
        os._exit(128 + signum)  # a write in progress is one transaction: it is rolled back

    runtime = Runtime(config, stop_timeout=stop_timeout)
    structlog.contextvars.bind_contextvars(instance=config.instance)
    lock = asyncio.Lock()  # one reload at a time, in the order the signals came

    async def reload_config() -> None:
        async with lock:
            if stop.is_set() or reload is None:
                return
            try:
                new = await asyncio.to_thread(reload)
                if new.http != runtime.config.http:
                    log.warning("[http] changed; the HTTP server keeps its settings until a "
                                "restart")
                await runtime.reload(new)
            except WatcherError as exc:
                log.error("config reload refused; the running config goes on",
                          error=exc.message)
            except Exception:
                log.exception("config reload failed; the running config goes on")

    def on_hangup() -> None:
        log.info("reloading the config", signal="SIGHUP")
        task = asyncio.create_task(reload_config(), name="reload")
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    loop.add_signal_handler(signal.SIGHUP, on_hangup)
    server: HttpServer | None = None
    try:
        await runtime.start()
        if config.http is not None:
            server = HttpServer(runtime, config.http)
            await server.start()
        log.info(
            "watcher started",
            images=len(config.images),
            schedule=config.schedule.describe(),
            database=mask(config.database),
        )
        await stop.wait()
    finally:
        if server is not None:
            await server.stop()
        await runtime.stop()
    if runtime.not_started:
        log.info("stopped", not_started=runtime.not_started)
    else:
        log.info("stopped")
