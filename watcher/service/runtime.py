"""What ``watcher run`` keeps alive on its one event loop: the store, a registry client that
lives across rounds, the schedules of check rounds, and the delivery worker.

:class:`Runtime` owns those parts: :meth:`Runtime.start` opens them in order,
:meth:`Runtime.reload` swaps in a new config without a restart, and :meth:`Runtime.stop`
closes them in reverse. Further long-lived parts (an HTTP server) belong here too: started
after the store, stopped before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from watcher.config import Config, TrackedImage
from watcher.core.hooks import Push, pushed_images
from watcher.core.schedule import Schedule
from watcher.errors import WatcherError
from watcher.logs import get_logger
from watcher.notify.ping import Pinger
from watcher.service.clients import LongLivedClient
from watcher.service.engine_watch import EngineWatch
from watcher.service.fleet import Fleet
from watcher.service.housekeeping import FIRST_PRUNE_DELAY, PRUNE_INTERVAL, prune
from watcher.service.lifecycle import Deliveries, after_round, finish
from watcher.service.metrics import Metrics
from watcher.service.report import RoundReport
from watcher.service.round import check_images
from watcher.service.schedules import group_by_schedule, period_of, trigger_for
from watcher.service.storage import open_store
from watcher.store import Store

log = get_logger("watcher.runtime")

DEFAULT_STOP_TIMEOUT = 10.0
_JOB_PREFIX = "round:"
_PRUNE_JOB = "retention"
READY_GRACE = 60.0  # seconds on top of two periods: a round takes time too


@dataclass(frozen=True)
class RoundSummary:
    """The last finished round, for health checks and metrics."""

    finished_at: datetime
    duration: float
    checked: int
    changed: int
    failed: int


class Runtime:
    """The daemon's long-lived parts, on the running event loop.

    Images are grouped by schedule (the ``[watcher]`` interval or cron schedule, or an
    image's own); each group is one scheduler job, whose round spreads its checks over the
    schedule's jitter (but the first round at start-up, which checks everything at once).
    A group's round still running when the next is due is not started twice, and an image
    is never checked by two rounds at once. The registry client is kept
    from round to round (its token cache and connection pool with it) as long as the
    registry settings, re-read each round like Docker's credential helpers, stay the same.
    """

    def __init__(
        self,
        config: Config,
        *,
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
        prune_every: float = PRUNE_INTERVAL,
        first_prune: float = FIRST_PRUNE_DELAY,
    ) -> None:
        """Retention (``[watcher] keep_history``) runs every ``prune_every`` seconds, the first
        time ``first_prune`` seconds after start, in a thread: a job of its own next to the
        rounds, which it never delays for longer than one batch."""
        self._config = config  # with the engines' images merged in
        self._file_config = config  # as read from the file
        self._engines = EngineWatch()
        self._prune_every = prune_every
        self._first_prune = first_prune
        self._prune_stop = threading.Event()
        self._pruning: asyncio.Task[None] | None = None
        self._stop_timeout = stop_timeout
        self._stopping = asyncio.Event()
        self._store: Store | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._groups: dict[str, tuple[Schedule, list[TrackedImage]]] = {}
        self._rounds: set[asyncio.Task[None]] = set()
        self._at_once: set[str] = set()  # jobs whose next round is the first, not spread
        self._finished: dict[str, float] = {}  # job -> when its last round ended (monotonic)
        self._in_flight: set[str] = set()
        self._again: dict[str, TrackedImage] = {}  # asked for while in flight: once more after
        self._deliveries = Deliveries(stop_timeout=stop_timeout, log=log)
        self.not_started = 0  # images the last round left unchecked because of a stop
        self.last_round: RoundSummary | None = None
        self.started_at = time.monotonic()
        self.metrics = Metrics(config.instance)
        self._clients = LongLivedClient(observer=self.metrics.observe_request)
        self._pinger = Pinger()
        self._fleet: Fleet | None = None  # [watcher] replicas = "shared": the fleet's loop

    @property
    def config(self) -> Config:
        return self._config

    @property
    def store(self) -> Store | None:
        return self._store

    @property
    def scheduler_running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    async def start(self) -> None:
        """Migrate and open the database, start delivering the outbox, then schedule the
        rounds (the first ones now, unless ``first_check = "scheduled"``)."""
        self._store = await asyncio.to_thread(open_store, self._config)
        if self._config.replicas.shared:  # several replicas share the work: service.fleet
            self._fleet = Fleet(self._config, self._store, metrics=self.metrics,
                                stop_timeout=self._stop_timeout, on_round=self._fleet_round,
                                prune_every=self._prune_every, first_prune=self._first_prune)
            await self._fleet.start()
            self._scheduler = self._fleet.scheduler
            return
        self._config = await self._merged(self._file_config)
        self._engines.follow(self._file_config, self._sources_changed)
        self._start_worker(self._config)
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
        scheduler.start()
        self._scheduler = scheduler
        self._schedule(self._config, first=self._config.first_check == "immediate")
        scheduler.add_job(
            self._prune_job, IntervalTrigger(seconds=self._prune_every, timezone=UTC),
            id=_PRUNE_JOB, max_instances=1, coalesce=True, misfire_grace_time=None,
            next_run_time=datetime.now(UTC) + timedelta(seconds=self._first_prune),
        )

    async def reload(self, config: Config) -> None:
        """Use ``config`` from now on: images added and removed, schedules and channels
        changed. Rounds in flight finish with the config they started with; added images are
        checked at once. The database cannot change without a restart."""
        if config.database != self._config.database:
            raise WatcherError(
                "[watcher] database differs from the running one; a new database needs a "
                "restart, so the old config keeps running"
            )
        assert self._store is not None
        if self._fleet is not None:
            if config.replicas != self._config.replicas:
                raise WatcherError("[watcher] replicas, lease or claim_batch differ from the "
                                   "running ones; they need a restart, so the old config "
                                   "keeps running")
            await self._fleet.reload(config)
            self._config = config
            return
        old_refs = {str(i.ref) for i in self._config.images}
        if config.sources.engines != self._file_config.sources.engines:
            self._engines.follow(config, self._sources_changed)
        self._file_config = config
        config = await self._merged(config)
        if config.channels != self._config.channels or config.templates != self._config.templates:
            await self._stop_worker()
            self._start_worker(config)
        self._config = config
        self._schedule(config, first=False)
        added = [i for i in config.images if str(i.ref) not in old_refs]
        log.info("config reloaded", images=len(config.images), added=len(added),
                 removed=len(old_refs - {str(i.ref) for i in config.images}),
                 schedules=len(self._groups))
        if added:
            self.request_check(added)

    def overdue(self) -> list[str]:
        """The schedules whose last round ended more than two periods ago (or, never having
        run, whose process started more than two periods ago), described for people."""
        if self._fleet is not None:
            return self._fleet.overdue()
        now = time.monotonic()
        late = []
        for job_id, (schedule, _) in self._groups.items():
            since = self._finished.get(job_id, self.started_at)
            if now - since > 2 * period_of(schedule) + READY_GRACE:
                late.append(schedule.describe())
        return late

    def request_check(self, images: Iterable[TrackedImage]) -> None:
        """Check ``images`` now, outside their schedule (a push, a reload). An image being
        checked already is checked once more when that check ends."""
        if self._stopping.is_set():
            return
        wanted = list(images)
        if wanted and self._fleet is not None:
            self._fleet.request_check(wanted)
        elif wanted:
            self._launch(wanted, spread=0.0)

    def request_pushed(self, pushes: Sequence[Push]) -> list[TrackedImage]:
        """Check now the configured images a registry says were pushed (their repository's
        tracked tags); returns them."""
        images = list(self._config.images)
        tracked = [(i.ref.registry, i.ref.repository, i.ref.tag) for i in images]
        chosen = [images[n] for n in sorted(pushed_images(list(pushes), tracked))]
        self.request_check(chosen)
        return chosen

    async def stop(self) -> None:
        """Start no new round, check or send; let the checks and sends in flight finish and be
        recorded (waiting at most the stop timeout), then close the client and the store."""
        self._stopping.set()
        await self._engines.stop()
        if self._fleet is not None:
            await self._fleet.stop()
            self._fleet = self._scheduler = None
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.pause()
        await self._finish(
            list(self._rounds),
            "checks still running at the stop timeout were abandoned; "
            "their images keep their last recorded state",
        )
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._prune_stop.set()
        await self._finish([self._pruning] if self._pruning else [],
                           "pruning still running at the stop timeout was abandoned")
        await self._stop_worker()
        await self._clients.aclose()
        await self._pinger.aclose()
        if self._store is not None:
            await asyncio.to_thread(self._store.close)
            self._store = None

    def _fleet_round(self, report: RoundReport, duration: float) -> None:
        self.not_started = report.not_started
        self.last_round = RoundSummary(datetime.now(UTC), duration, len(report.checks),
                                       report.changed, report.failed)

    def _start_worker(self, config: Config) -> None:
        assert self._store is not None
        self._deliveries.start(self._store, config)

    async def _stop_worker(self) -> None:
        await self._deliveries.stop(
            "sends still running at the stop timeout were abandoned; they stay due and "
            "are sent again (same event ids) by the next start")

    async def _finish(self, tasks: Sequence[asyncio.Task[None]], abandoned: str) -> None:
        await finish(tasks, abandoned, stop_timeout=self._stop_timeout, log=log)

    def _schedule(self, config: Config, *, first: bool) -> None:
        """One job per distinct schedule. A job whose schedule is unchanged keeps its next
        run time (only its images are replaced); new schedules start on their own time."""
        assert self._scheduler is not None
        groups = group_by_schedule(config)
        wanted = {f"{_JOB_PREFIX}{schedule.describe()}": (schedule, images)
                  for schedule, images in groups.items()}
        for job_id in list(self._groups):
            if job_id not in wanted or wanted[job_id][0] != self._groups[job_id][0]:
                with contextlib.suppress(Exception):
                    self._scheduler.remove_job(job_id)
                del self._groups[job_id]
        now = datetime.now(UTC)
        for job_id, (schedule, images) in wanted.items():
            known = job_id in self._groups
            self._groups[job_id] = (schedule, images)
            if known:
                continue
            options = {"next_run_time": now} if first else {}
            if first:
                self._at_once.add(job_id)
            self._scheduler.add_job(
                self._round_job,
                trigger_for(schedule),
                args=[job_id],
                id=job_id,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,  # a round missed while busy runs late, not never
                **options,
            )

    async def _round_job(self, job_id: str) -> None:
        """The scheduled job. The round is a task of its own, so that stopping the scheduler
        never cancels it: :meth:`stop` decides how long it may run. The job waits for its
        round, so the scheduler never starts a group's round twice."""
        if self._stopping.is_set() or job_id not in self._groups:
            return
        sources = self._file_config.sources
        if sources.engines or sources.files:  # each round sees the containers and files now
            await self._sources_changed(job_id)
        group = self._groups.get(job_id)
        if self._stopping.is_set() or group is None:
            return
        schedule, images = group
        spread = 0.0 if job_id in self._at_once else schedule.effective_jitter()
        self._at_once.discard(job_id)
        task = self._launch(images, spread=spread)
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        self._finished[job_id] = time.monotonic()

    async def _merged(self, file_config: Config) -> Config:
        assert self._store is not None
        return await self._engines.merged(file_config, self._store, self._clients.current)

    async def _sources_changed(self, job_id: str | None = None) -> None:
        """Read the engines again; check at once the images new among them (but those of
        ``job_id``, whose round is about to start)."""
        if self._stopping.is_set() or self._store is None:
            return
        known = {str(i.ref) for i in self._config.images}
        try:
            self._config = await self._merged(self._file_config)
        except WatcherError as exc:
            log.error("reading the engines failed; the last images stand", error=exc.message)
            return
        self._schedule(self._config, first=False)
        group = {str(i.ref) for i in self._groups[job_id][1]} if job_id in self._groups else set()
        added = [i for i in self._config.images if str(i.ref) not in known | group]
        if added:
            log.info("new images from the sources", added=len(added))
            self.request_check(added)

    async def _prune_job(self) -> None:
        """The retention job: one run of :func:`~watcher.service.housekeeping.prune` in a
        thread, which stops between two batches once the daemon stops."""
        if self._stopping.is_set() or self._store is None:
            return
        store, config = self._store, self._config

        async def run() -> None:
            try:
                await asyncio.to_thread(prune, store, config, stop=self._prune_stop)
            except WatcherError as exc:
                log.error("pruning failed; it is tried again at the next run", error=exc.message)
            except Exception:
                log.exception("pruning failed unexpectedly")

        self._pruning = asyncio.create_task(run(), name="retention")
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(self._pruning)

    def _launch(
        self, images: Sequence[TrackedImage], *, spread: float
    ) -> asyncio.Task[None] | None:
        free = [i for i in images if str(i.ref) not in self._in_flight]
        for image in images:
            if str(image.ref) in self._in_flight:
                self._again[str(image.ref)] = image
        if not free:
            return None
        self._in_flight.update(str(i.ref) for i in free)
        task = asyncio.create_task(self._check_round(free, spread), name="check-round")
        self._rounds.add(task)
        task.add_done_callback(self._round_done)
        return task

    def _round_done(self, task: asyncio.Task[None]) -> None:
        self._rounds.discard(task)
        again = [i for ref, i in self._again.items() if ref not in self._in_flight]
        for image in again:
            del self._again[str(image.ref)]
        if again and not self._stopping.is_set():
            self._launch(again, spread=0.0)

    async def _check_round(self, images: list[TrackedImage], spread: float) -> None:
        assert self._store is not None
        started = time.monotonic()
        try:
            client, problems = await self._clients.for_round(self._config, len(self._rounds))
            report = await check_images(
                self._config, self._store, images,
                client=client, unusable=problems, stop=self._stopping, spread=spread,
            )
            self.not_started = report.not_started
            duration = time.monotonic() - started
            self.last_round = RoundSummary(
                datetime.now(UTC), duration, len(report.checks), report.changed, report.failed)
            after_round(report, duration, client, metrics=self.metrics,
                        deliveries=self._deliveries, pinger=self._pinger,
                        ping_url=self._config.ping_url)
        except WatcherError as exc:
            log.error("round failed", error=exc.message)
        except Exception:  # never let one round end the daemon; say what happened, in JSON
            log.exception("round failed unexpectedly")
        finally:
            self._in_flight.difference_update(str(i.ref) for i in images)
            await self._clients.round_ended(len(self._rounds))
