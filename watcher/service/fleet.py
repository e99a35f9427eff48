"""Several replicas sharing the work through PostgreSQL (``[watcher] replicas = "shared"``).

What is due lives in the database, not in each process: every tracked image has a
``next_check_at``. Each replica's scheduler only ticks "claim due work": the tick claims a
batch of due images (``SELECT ... FOR UPDATE SKIP LOCKED``, leased to this replica), checks
them with :func:`~watcher.service.round.check_images` (which records each image in its own
transaction), gives the leases back with each image's next due time (from its schedule),
and claims again until nothing is due. A heartbeat, several times per lease, renews the
replica's leases and says how many replicas are alive: each replica paces a registry at its
configured rate divided by that number, and no replica claims images of a registry whose
stated budget (``registry_budgets``, written by every replica) is down to its reserve. A
replica that dies stops renewing; its leases expire and the others take its images and
deliveries over. docs/scaling.md has the model and its guarantees.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from watcher.config import Config, TrackedImage
from watcher.errors import WatcherError
from watcher.logs import get_logger
from watcher.notify.ping import Pinger
from watcher.registry import RegistryClient, RegistrySettings
from watcher.service.clients import LongLivedClient
from watcher.service.housekeeping import FIRST_PRUNE_DELAY, PRUNE_INTERVAL, prune
from watcher.service.lifecycle import Deliveries, after_round, finish
from watcher.service.metrics import Metrics
from watcher.service.report import RoundReport
from watcher.service.round import check_images
from watcher.service.sharing import (
    OutsideImages,
    Pace,
    next_check,
    reserved_until,
    shared_settings,
    sync_image_set,
)
from watcher.store import Claim, Heartbeat, Store

log = get_logger("watcher.fleet")

HEARTBEATS_PER_LEASE = 3
MAX_TICK = 1.0  # seconds between two looks for due work, at most
READY_GRACE = 60.0  # seconds on top of a lease before claiming counts as stalled
_CLAIM_JOB, _HEARTBEAT_JOB, _PRUNE_JOB = "claim", "heartbeat", "retention"
RoundObserver = Callable[[RoundReport, float], None]


class Fleet:
    """One shared replica's parts on the running event loop: the claim and heartbeat jobs,
    its registry client, its delivery worker (which claims deliveries too) and retention."""

    def __init__(self, config: Config, store: Store, *, metrics: Metrics,
                 stop_timeout: float, on_round: RoundObserver | None = None,
                 prune_every: float = PRUNE_INTERVAL,
                 first_prune: float = FIRST_PRUNE_DELAY) -> None:
        self._config = config
        self._store = store
        self._metrics = metrics
        self._stop_timeout = stop_timeout
        self._on_round = on_round
        self._prune_every = prune_every
        self._first_prune = first_prune
        self._name = config.replicas.name
        self._lease = config.replicas.lease
        self._stopping = asyncio.Event()
        self._prune_stop = threading.Event()
        self.scheduler: AsyncIOScheduler | None = None
        self._clients = LongLivedClient(observer=metrics.observe_request)
        self._deliveries = Deliveries(stop_timeout=stop_timeout, log=log)
        self._busy: set[asyncio.Task[None]] = set()
        self._version: int | None = None
        self._alive = 1
        self._pace = Pace()
        self._claimed = Pace()  # images claimed, for the claims-per-minute gauge
        self._started_at = datetime.now(UTC)
        self._last_round: tuple[datetime, int] | None = None
        self._pinger = Pinger()
        self._by_ref = {str(i.ref): i for i in config.images}
        self._outside = OutsideImages()  # claimed, but not in this replica's config
        self._last_claim = time.monotonic()

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        """Synchronise the image set, say hello, start delivering, then tick.

        Leases already under this replica's name are from its previous life (a restart with
        the same name, as a Kubernetes container keeps its pod's) or from another replica
        wrongly given the same name: they are given back first, or the heartbeat would renew
        claims nobody is working on."""
        await self._sync(self._config)
        await self._take_name()
        await self._heartbeat()
        with contextlib.suppress(WatcherError):  # /metrics shows the fleet from the start
            await self._observe_fleet()
        if self._config.first_check == "scheduled":
            await self._schedule_first(self._config)
        self._start_worker(self._config)
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
        scheduler.start()
        self.scheduler = scheduler
        tick = min(MAX_TICK, self._lease / (2 * HEARTBEATS_PER_LEASE))
        options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(self._claim_job, IntervalTrigger(seconds=tick, timezone=UTC),
                          id=_CLAIM_JOB, next_run_time=datetime.now(UTC), **options)
        scheduler.add_job(self._heartbeat_job,
                          IntervalTrigger(seconds=self._lease / HEARTBEATS_PER_LEASE,
                                          timezone=UTC), id=_HEARTBEAT_JOB, **options)
        scheduler.add_job(self._prune_job, IntervalTrigger(seconds=self._prune_every,
                                                           timezone=UTC), id=_PRUNE_JOB,
                          next_run_time=datetime.now(UTC) + timedelta(seconds=self._first_prune),
                          **options)
        log.info("replica joined the fleet", replica=self._name, replicas=self._alive,
                 image_set_version=self._version, lease_seconds=self._lease)

    async def reload(self, config: Config) -> None:
        """Follow ``config`` from now on (its image set only if it is the newest)."""
        await self._sync(config)
        if config.channels != self._config.channels or config.templates != self._config.templates:
            await self._stop_worker()
            self._start_worker(config)
        self._config = config
        self._by_ref = {str(i.ref): i for i in config.images}
        self._outside = OutsideImages()
        with contextlib.suppress(WatcherError):  # the fleet sees the version it follows now
            await self._heartbeat()

    def overdue(self) -> list[str]:
        """What is late, described for people: claiming due checks, when no claim has been
        answered for a lease and more (the database is unreachable, or a batch hangs)."""
        since = time.monotonic() - self._last_claim
        if since > self._lease + READY_GRACE:
            return [f"claiming due checks (none for {since:.0f} s)"]
        return []

    def request_check(self, images: Iterable[TrackedImage]) -> None:
        """Make ``images`` due now: whichever replica claims them first checks them."""
        refs = [str(i.ref) for i in images]
        if refs and not self._stopping.is_set():
            task = asyncio.create_task(asyncio.to_thread(
                self._store.request_checks, refs, datetime.now(UTC)), name="request-check")
            self._busy.add(task)
            task.add_done_callback(self._busy.discard)

    async def stop(self) -> None:
        """Claim nothing more; let the batch in flight finish (at most the stop timeout),
        then give back every lease and leave the fleet, so the others take over at once."""
        self._stopping.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()
        await self._finish(list(self._busy), "checks still running at the stop timeout were "
                           "abandoned; their images are due again for the other replicas")
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self._prune_stop.set()
        await self._stop_worker()
        with contextlib.suppress(WatcherError):
            await asyncio.to_thread(self._store.leave_fleet, self._name)
        await self._clients.aclose()
        await self._pinger.aclose()

    # -- jobs -------------------------------------------------------------------------------

    async def _claim_job(self) -> None:
        """Claim and check due batches until nothing is due (or stopping)."""
        if self._stopping.is_set():
            return
        task = asyncio.create_task(self._claim_until_done(), name="claim")
        self._busy.add(task)
        task.add_done_callback(self._busy.discard)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)

    async def _claim_until_done(self) -> None:
        batch = self._config.replicas.claim_batch
        try:
            while not self._stopping.is_set():
                now = datetime.now(UTC)
                claims = await asyncio.to_thread(self._store.claim_due_images, self._name,
                                                 now, self._lease, batch,
                                                 skip=self._outside.skip)
                self._last_claim = time.monotonic()
                self._claimed.add(len(claims))
                if not claims:
                    return
                checked = await self._check_claimed(claims)
                if len(claims) < batch or not checked:
                    return
        except WatcherError as exc:
            log.error("claiming due checks failed; tried again at the next tick",
                      error=exc.message)
        except Exception:
            log.exception("claiming due checks failed unexpectedly")

    async def _check_claimed(self, claims: Sequence[Claim]) -> int:
        """Check the claimed images this replica knows and give their leases back; returns
        how many were checked."""
        config, now = self._config, datetime.now(UTC)
        later: dict[str, datetime | None] = {}
        reserved = await asyncio.to_thread(self._reserved, now)
        chosen: list[tuple[TrackedImage, Claim]] = []
        unknown = [c.ref for c in claims if c.ref not in self._by_ref]
        if unknown:
            await self._give_back_unknown(unknown)
        for claim in claims:
            image = self._by_ref.get(claim.ref)
            if image is None:
                continue
            if image.ref.registry in reserved:
                later[claim.ref] = reserved[image.ref.registry]
                continue
            chosen.append((image, claim))
        if later:
            await asyncio.to_thread(self._store.release_images, self._name, later)
        if not chosen:
            return 0
        started = time.monotonic()
        client, problems = await self._client_for_round()
        report = await check_images(config, self._store, [i for i, _ in chosen],
                                    client=client, unusable=problems, stop=self._stopping)
        duration = time.monotonic() - started
        done = {c.ref for c in report.checks}
        finished = datetime.now(UTC)
        next_at: dict[str, datetime | None] = {}
        for image, claim in chosen:
            ref = str(image.ref)
            if ref in done:
                key = f"{image.ref.registry}/{image.ref.repository}"
                next_at[ref] = next_check(config.schedule_of(image), key, claim.due_at, finished)
            else:
                next_at[ref] = None  # not started (stopping): due as it was
        claimed = {c.ref: c.due_at for _, c in chosen}
        await asyncio.to_thread(self._store.release_images, self._name, next_at, claimed)
        self._observe(report, duration, client)
        return len(report.checks)

    async def _give_back_unknown(self, refs: Sequence[str]) -> None:
        """Images of a newer image set than this replica's config: given back at once,
        unchecked and due as they were, and never claimed again while this config stands,
        so that the replicas with the newer config check them without waiting for a lease
        to expire (:class:`~watcher.service.sharing.OutsideImages`). Said once per config."""
        if self._outside.note(refs):
            log.warning("the database tracks images this replica's config does not (a newer "
                        "config on other replicas): they are left to those replicas; update "
                        "this replica's config", replica=self._name,
                        image_set_version=self._version, images=len(refs), example=refs[0])
        await asyncio.to_thread(self._store.release_images, self._name,
                                dict.fromkeys(refs, None))

    def _observe(self, report: RoundReport, duration: float, client: RegistryClient) -> None:
        self._pace.add(len(report.checks))
        self._last_round = (datetime.now(UTC), len(report.checks))
        if self._on_round is not None:
            self._on_round(report, duration)
        after_round(report, duration, client, metrics=self._metrics,
                    deliveries=self._deliveries, pinger=self._pinger,
                    ping_url=self._config.ping_url)

    def _reserved(self, now: datetime) -> dict[str, datetime]:
        """Registries whose fleet-wide budget is down to its reserve, until when."""
        found: dict[str, datetime] = {}
        settings = self._clients.settings
        for budget in self._store.registry_budgets():
            reserve = RegistrySettings().reserve
            if settings is not None:
                reserve = settings[0].get(budget.registry, settings[1]).reserve
            until = reserved_until(budget, reserve, now)
            if until is not None:
                found[budget.registry] = until
        return found

    async def _heartbeat_job(self) -> None:
        if self._stopping.is_set():
            return
        try:
            await self._heartbeat()
        except WatcherError as exc:
            log.error("heartbeat failed; leases expire unless the next one succeeds",
                      error=exc.message)
            return
        if self._metrics.fleet_stale():
            try:
                await self._observe_fleet()
            except WatcherError as exc:
                log.warning("metrics: the fleet's counts could not be read", error=exc.message)

    async def _observe_fleet(self) -> None:
        """The fleet gauges of ``/metrics``, read here rather than per scrape."""
        counts = await asyncio.to_thread(self._store.fleet_counts, datetime.now(UTC),
                                         self._lease)
        self._metrics.observe_fleet(counts, replica=self._name, follows=self._version,
                                    claims_per_minute=self._claimed.per_minute())

    async def _take_name(self) -> None:
        now = datetime.now(UTC)
        fleet = await asyncio.to_thread(self._store.replicas, now, self._lease)
        mine = next((r for r in fleet if r.name == self._name), None)
        if mine is not None and mine.alive:
            log.warning("a replica of this name was alive until just now: a restart, or two "
                        "replicas share one name (give each its own instance or "
                        "$WATCHER_INSTANCE); its leases are given back",
                        replica=self._name, leases=mine.leases)
        await asyncio.to_thread(self._store.leave_fleet, self._name)

    async def _heartbeat(self) -> None:
        last = self._last_round
        beat = Heartbeat(self._name, self._started_at, datetime.now(UTC),
                         self._pace.per_minute(), self._pace.total,
                         last[0] if last else None, last[1] if last else None, self._version)
        alive = await asyncio.to_thread(self._store.heartbeat, beat, self._lease)
        if alive != self._alive:
            log.info("replicas alive changed", replicas=alive, was=self._alive)
        self._alive = alive

    async def _prune_job(self) -> None:
        """Retention, by one replica of the fleet: the alive one first by name (another
        takes over when it is gone), so that replicas do not prune the same rows at once."""
        if self._stopping.is_set():
            return
        try:
            fleet = await asyncio.to_thread(self._store.replicas, datetime.now(UTC), self._lease)
            alive = sorted(r.name for r in fleet if r.alive)
            if alive and alive[0] != self._name:
                return
            await asyncio.to_thread(prune, self._store, self._config, stop=self._prune_stop)
        except WatcherError as exc:
            log.error("pruning failed; it is tried again at the next run", error=exc.message)

    # -- parts ------------------------------------------------------------------------------

    async def _sync(self, config: Config) -> None:
        result = await asyncio.to_thread(sync_image_set, self._store, config,
                                         known=self._version, by=self._name)
        self._version = result.follows

    async def _schedule_first(self, config: Config) -> None:
        """``first_check = "scheduled"``: images never checked wait for their schedule."""
        now = datetime.now(UTC)
        first = {str(i.ref): next_check(config.schedule_of(i),
                                        f"{i.ref.registry}/{i.ref.repository}", None, now)
                 for i in config.images}
        await asyncio.to_thread(self._store.schedule_unscheduled, first)

    def _start_worker(self, config: Config) -> None:
        self._deliveries.start(self._store, config, lease=(self._name, self._lease))

    async def _stop_worker(self) -> None:
        await self._deliveries.stop("sends still running at the stop timeout were abandoned; "
                                    "their leases expire and another replica sends them "
                                    "(same event ids)")

    async def _finish(self, tasks: Sequence[asyncio.Task[None]], abandoned: str) -> None:
        await finish(tasks, abandoned, stop_timeout=self._stop_timeout, log=log)

    async def _client_for_round(self) -> tuple[RegistryClient, dict[str, str]]:
        """The long-lived client, its rates shared among the live replicas; replaced when
        the settings (or the number of replicas) changed."""
        return await self._clients.for_round(
            self._config, 1, adjust=lambda settings: shared_settings(settings, self._alive))


__all__ = ["Fleet"]
