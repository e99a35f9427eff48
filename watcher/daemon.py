"""The long-running daemon: one asyncio event loop for the life of the process, running the
:class:`~watcher.service.runtime.Runtime` until SIGTERM or SIGINT.

The first signal stops cleanly: no new check starts, the checks in flight finish and are
recorded (for at most the stop timeout), and the process exits 0. A second signal exits at
once with status 128 + the signal number; the database stays consistent, since every write
is one transaction.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import structlog

from watcher.config import Config
from watcher.service.runtime import DEFAULT_STOP_TIMEOUT, Runtime
from watcher.store.engine import mask

log = structlog.get_logger("watcher.daemon")


def run_daemon(config: Config, *, stop_timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
    """Check every ``config.interval`` seconds until SIGTERM or SIGINT.

    The database is migrated once at start-up; a round that fails as a whole (database
    unreachable, say) is logged and the next one runs on schedule.
    """
    asyncio.run(_serve(config, stop_timeout))


async def _serve(config: Config, stop_timeout: float) -> None:
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if not stop.is_set():
            log.info("stopping", signal=name, stop_timeout_seconds=stop_timeout)
            stop.set()
            return
        log.warning("stopping at once", signal=name)
        sys.stderr.flush()
        os._exit(128 + signum)  # a write in progress is one transaction: it is rolled back

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    runtime = Runtime(config, stop_timeout=stop_timeout)
    try:
        await runtime.start()
        log.info(
            "watcher started",
            images=len(config.images),
            interval_seconds=config.interval,
            database=mask(config.database),
        )
        await stop.wait()
    finally:
        await runtime.stop()
    if runtime.not_started:
        log.info("stopped", not_started=runtime.not_started)
    else:
        log.info("stopped")
