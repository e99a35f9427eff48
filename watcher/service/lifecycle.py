"""What the daemon's two ways of running (``service.runtime`` alone, ``service.fleet`` as
one of shared replicas) both do with their long-lived parts: wait a bounded time for tasks at
a stop, run the delivery worker, and follow up a finished round."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from watcher.config import Config
from watcher.notify.ping import Pinger
from watcher.registry import RegistryClient
from watcher.service.channels import build_channels
from watcher.service.delivery import DeliveryWorker
from watcher.service.metrics import Metrics
from watcher.service.report import RoundReport
from watcher.store import Store


async def finish(tasks: Sequence[asyncio.Task[None]], abandoned: str, *, stop_timeout: float,
                 log: Any) -> None:
    """Let ``tasks`` finish within ``stop_timeout`` seconds; past it, cancel them and say so
    (``abandoned``, a warning on ``log``)."""
    running = {t for t in tasks if not t.done()}
    if not running:
        return
    _, pending = await asyncio.wait(running, timeout=stop_timeout)
    if pending:
        log.warning(abandoned, stop_timeout_seconds=stop_timeout)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Deliveries:
    """The delivery worker of a config's channels, as a task on the running loop."""

    def __init__(self, *, stop_timeout: float, log: Any) -> None:
        self._stop_timeout = stop_timeout
        self._log = log
        self.worker: DeliveryWorker | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def start(self, store: Store, config: Config,
              lease: tuple[str, float] | None = None) -> None:
        """Start delivering the outbox to ``config``'s channels (none: nothing starts).
        ``lease`` (replica name, seconds) makes the worker claim deliveries."""
        if not config.channels:
            return
        channels, problems = build_channels(config)
        for name, problem in problems.items():
            self._log.error("notification channel unavailable; its deliveries wait",
                            channel=name, error=problem)
        self._stop = asyncio.Event()
        self.worker = DeliveryWorker(store, channels, lease=lease)
        self._task = asyncio.create_task(self.worker.run(self._stop), name="delivery")

    async def stop(self, abandoned: str) -> None:
        """Send nothing new; let the sends in flight end within the stop timeout."""
        self._stop.set()
        await finish([self._task] if self._task else [], abandoned,
                     stop_timeout=self._stop_timeout, log=self._log)
        self.worker, self._task = None, None

    def wake(self) -> None:
        if self.worker is not None:
            self.worker.wake()


def after_round(report: RoundReport, duration: float, client: RegistryClient, *,
                metrics: Metrics, deliveries: Deliveries, pinger: Pinger,
                ping_url: str | None) -> None:
    """A round finished: count it, note the registries' budgets, send its events now, and
    ping ``ping_url`` when the round ran whole and not every check failed."""
    metrics.observe_round(report, duration)
    metrics.observe_budgets(
        (host, limit.remaining) for host in {i.image.ref.registry for i in report.checks}
        if (limit := client.rate_limit(host)) is not None and limit.remaining is not None)
    deliveries.wake()
    if ping_url and not report.not_started and (
            report.failed < len(report.checks) or not report.checks):
        pinger.ping(ping_url)


__all__ = ["Deliveries", "after_round", "finish"]
