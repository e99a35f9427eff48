"""What ``watcher run`` keeps alive on its one event loop: the store, a registry client that
lives across rounds, the schedule of check rounds, and the delivery worker.

:class:`Runtime` owns those parts: :meth:`Runtime.start` opens them in order and
:meth:`Runtime.stop` closes them in reverse. Further long-lived parts (an HTTP server) belong
here too: started after the store, stopped before it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from watcher.config import Config
from watcher.errors import WatcherError
from watcher.registry import RegistryClient, RegistrySettings
from watcher.service.delivery import DeliveryWorker, build_channels
from watcher.service.registries import registry_settings
from watcher.service.round import check_images
from watcher.service.storage import open_store
from watcher.store import Store

log = structlog.get_logger("watcher.runtime")

DEFAULT_STOP_TIMEOUT = 10.0
_ClientSettings = tuple[dict[str, RegistrySettings], RegistrySettings]


class Runtime:
    """The daemon's long-lived parts, on the running event loop.

    A check round starts at :meth:`start` and then every ``config.interval`` seconds, one at a
    time (a round still running when the next is due is not started twice). The registry
    client is kept from round to round (its token cache and connection pool with it) as long
    as the registry settings, re-read each round like Docker's credential helpers, stay the
    same.
    """

    def __init__(self, config: Config, *, stop_timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        self._config = config
        self._images = list(config.images)
        self._stop_timeout = stop_timeout
        self._stopping = asyncio.Event()
        self._store: Store | None = None
        self._client: RegistryClient | None = None
        self._client_settings: _ClientSettings | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._round: asyncio.Task[None] | None = None
        self._worker: DeliveryWorker | None = None
        self._delivering: asyncio.Task[None] | None = None
        self._stop_delivering = asyncio.Event()
        self.not_started = 0  # images the last round left unchecked because of a stop

    async def start(self) -> None:
        """Migrate and open the database, start delivering the outbox, then schedule the
        rounds, the first one now."""
        self._store = await asyncio.to_thread(open_store, self._config)
        await asyncio.to_thread(self._store.sync_images, [str(i.ref) for i in self._images])
        if self._config.channels:
            channels, problems = build_channels(self._config)
            for name, problem in problems.items():
                log.error("notification channel unavailable; its deliveries wait",
                          channel=name, error=problem)
            self._worker = DeliveryWorker(self._store, channels)
            self._delivering = asyncio.create_task(
                self._worker.run(self._stop_delivering), name="delivery")
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
        scheduler.add_job(
            self._round_job,
            "interval",
            seconds=self._config.interval,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(self._config.interval)),
            id="check-round",
        )
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self) -> None:
        """Start no new round, check or send; let the checks and sends in flight finish and be
        recorded (waiting at most the stop timeout for each), then close the client and the
        store."""
        self._stopping.set()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.pause()
        await self._finish(
            self._round,
            "checks still running at the stop timeout were abandoned; "
            "their images keep their last recorded state",
        )
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        await self._stop_worker()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._store is not None:
            await asyncio.to_thread(self._store.close)
            self._store = None

    async def _stop_worker(self) -> None:
        self._stop_delivering.set()
        await self._finish(
            self._delivering,
            "sends still running at the stop timeout were abandoned; they stay due and "
            "are sent again (same event ids) by the next start",
        )

    async def _finish(self, task: asyncio.Task[None] | None, abandoned: str) -> None:
        """Let ``task`` finish within the stop timeout; past it, cancel it and say so."""
        if task is None or task.done():
            return
        done, _ = await asyncio.wait({task}, timeout=self._stop_timeout)
        if not done:
            log.warning(abandoned, stop_timeout_seconds=self._stop_timeout)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _round_job(self) -> None:
        """The scheduled job. The round is a task of its own, so that stopping the scheduler
        never cancels it: :meth:`stop` decides how long it may run."""
        if self._stopping.is_set():
            return
        self._round = asyncio.create_task(self._check_round(), name="check-round")
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(self._round)

    async def _check_round(self) -> None:
        assert self._store is not None
        try:
            client, problems = await self._client_for_round()
            report = await check_images(
                self._config, self._store, self._images,
                client=client, unusable=problems, stop=self._stopping,
            )
            self.not_started = report.not_started
            if self._worker is not None:
                self._worker.wake()
        except WatcherError as exc:
            log.error("round failed", error=exc.message)
        except Exception:  # never let one round end the daemon; say what happened, in JSON
            log.exception("round failed unexpectedly")

    async def _client_for_round(self) -> tuple[RegistryClient, dict[str, str]]:
        """The long-lived client, replaced only when the registry settings changed."""
        problems: dict[str, str] = {}
        # Credential helpers are programs: run them off the event loop.
        settings = await asyncio.to_thread(
            registry_settings, self._config, self._images, problems=problems
        )
        for host, problem in problems.items():
            log.warning("registry credentials unavailable", registry=host, error=problem)
        if self._client is None or settings != self._client_settings:
            if self._client is not None:
                log.info("registry settings changed; opening a new registry client")
                await self._client.aclose()
            self._client = RegistryClient(settings[0], default=settings[1])
            self._client_settings = settings
        return self._client, problems
