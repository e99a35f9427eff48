"""The long-running daemon: an APScheduler 3 interval job that runs one check round at a time."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from types import FrameType

import structlog
from apscheduler.schedulers.blocking import BlockingScheduler

from watcher.config import Config
from watcher.errors import WatcherError
from watcher.service import check_images, open_store
from watcher.store.engine import mask

log = structlog.get_logger("watcher.daemon")


def run_daemon(config: Config) -> None:
    """Check every ``config.interval`` seconds until SIGTERM or SIGINT.

    The database is migrated once at start-up; a round that fails as a whole (database
    unreachable, say) is logged and the next one runs on schedule.
    """
    store = open_store(config)
    store.sync_images(str(image.ref) for image in config.images)
    images = list(config.images)

    def round_job() -> None:
        try:
            asyncio.run(check_images(config, store, images))
        except WatcherError as exc:
            log.error("round failed", error=exc.message)
        except Exception:  # never let one round end the daemon; say what happened, in JSON
            log.exception("round failed unexpectedly")

    scheduler = BlockingScheduler(timezone=UTC)
    scheduler.add_job(
        round_job,
        "interval",
        seconds=config.interval,
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(config.interval)),
        id="check-round",
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        if not scheduler.running:  # a second signal while shutting down
            return
        log.info("stopping", signal=signal.Signals(signum).name)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "watcher started",
        images=len(images),
        interval_seconds=config.interval,
        database=mask(config.database),
    )
    try:
        scheduler.start()
    finally:
        store.close()

