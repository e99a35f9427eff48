"""Delivering the outbox: the due deliveries become batches, the channels send them, every
attempt is recorded.

One :class:`~watcher.notify.Batch` per (channel, round) for a grouped channel, one per event
otherwise. Channels send concurrently, each its own batches in order, so a channel that
times out or keeps failing delays only itself. After a retry answer the channel's remaining
batches of this pass are not sent: they wait with the same backoff (the channel is down). A
send cut short by the deadline records nothing: the delivery stays due and the next run sends
it again with the same ids (at least once; receivers drop duplicates by id).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from watcher.config import Config
from watcher.core.changes import ImageState
from watcher.core.delivery import backoff
from watcher.errors import WatcherError
from watcher.logs import get_logger
from watcher.notify import Batch, Channel, Outcome, OutcomeKind
from watcher.service.channels import build_channel, build_channels, routes
from watcher.service.notices import notice_for
from watcher.store import AttemptOutcome, AttemptResult, Delivery, Dependent, Store

log = get_logger("watcher.delivery")

Clock = Callable[[], datetime]
DEFAULT_DELIVER_TIMEOUT = 30.0
IDLE_POLL = 30.0  # seconds: another process (``watcher check``) may queue deliveries


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class DeliveryReport:
    """What one pass came to, in deliveries (not messages)."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    expired: int = 0
    left: int = 0  # due, but not sent before the deadline: the next run sends them
    errors: dict[str, str] = field(default_factory=dict)  # channel -> its last error

    def add(self, other: DeliveryReport) -> None:
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.failed += other.failed
        self.expired += other.expired
        self.left += other.left
        self.errors.update(other.errors)

    @property
    def sent_anything(self) -> bool:
        return bool(self.delivered or self.retrying or self.failed or self.expired)


@dataclass(frozen=True)
class _Send:
    channel: str
    batch: Batch
    deliveries: tuple[Delivery, ...]


class DeliveryWorker:
    """Sends the outbox's due deliveries through ``channels`` (by name) and records each try.

    A delivery for a channel not in ``channels`` (removed from the config, or one that cannot
    be set up) stays pending: it is sent once the channel is back.
    """

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        clock: Clock = utcnow,
        rng: random.Random | None = None,
        *,
        batch_limit: int = 500,
        lease: tuple[str, float] | None = None,
    ) -> None:
        """With ``lease`` (a shared replica's name, and seconds), each pass claims its
        deliveries, so that no other replica sends them meanwhile, and gives them back once
        their attempts are recorded."""
        self._lease = lease
        self._store = store
        self._channels = dict(channels)
        self._clock = clock
        self._rng = rng or random.Random()
        self._limit = batch_limit
        self._wakes: dict[str, asyncio.Event] = {}
        self._stopping = False

    def wake(self) -> None:
        """Look for due deliveries now (a round recorded some)."""
        for wake in self._wakes.values():
            wake.set()

    async def deliver_due(self, deadline: float | None = None) -> DeliveryReport:
        """Send everything due, until nothing is due or ``deadline`` (``time.monotonic()``);
        every channel at the same time."""
        reports = await asyncio.gather(*(self._deliver_channel(name, deadline)
                                         for name in self._channels))
        total = DeliveryReport()
        for report in reports:
            total.add(report)
        return total

    async def _deliver_channel(self, name: str, deadline: float | None) -> DeliveryReport:
        report = DeliveryReport()
        while not self._stopping:
            if deadline is not None and time.monotonic() >= deadline:
                break
            due = await self._due(name)
            if not due:
                break
            refs = sorted({d.event.ref for d in due})
            try:
                states = await asyncio.to_thread(self._store.load_states, refs,
                                                 include_inactive=True)
                users = await asyncio.to_thread(self._store.dependents, refs)
                sent = await self._send_channel(name, self._batches(name, due, states, users),
                                                deadline)
            finally:
                if self._lease is not None:
                    await asyncio.to_thread(self._store.release_deliveries, self._lease[0],
                                            [d.id for d in due])
            report.add(sent)
            if len(due) < self._limit or not sent.sent_anything:
                break
        return report

    async def _due(self, name: str) -> list[Delivery]:
        if self._lease is None:
            return await asyncio.to_thread(self._store.due_deliveries, self._clock(),
                                           limit=self._limit, channel=name)
        owner, seconds = self._lease
        return await asyncio.to_thread(self._store.claim_deliveries, owner, self._clock(),
                                       seconds, limit=self._limit, channel=name)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop``, each channel in a loop of its own (a channel that hangs
        delays only itself): after each round (:meth:`wake`) and when the channel's next retry
        or soak window is due. Once ``stop`` is set no new send starts; the caller bounds how
        long the sends in flight may take."""
        stopping = asyncio.ensure_future(self._stop_on(stop))
        try:
            await asyncio.gather(*(self._serve(name, stop) for name in self._channels))
        finally:
            stopping.cancel()

    async def _stop_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._stopping = True

    async def _serve(self, name: str, stop: asyncio.Event) -> None:
        wake = self._wakes.setdefault(name, asyncio.Event())
        while not stop.is_set():
            wake.clear()
            try:
                await self._deliver_channel(name, None)
            except WatcherError as exc:
                log.error("delivery pass failed", channel=name, error=exc.message)
            except Exception:
                log.exception("delivery pass failed unexpectedly", channel=name)
            delay = IDLE_POLL
            with contextlib.suppress(WatcherError):
                next_at = await asyncio.to_thread(self._store.next_delivery_at, name)
                if next_at is not None:
                    delay = min(IDLE_POLL, max(0.05, (next_at - self._clock()).total_seconds()))
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
            try:
                await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()

    def stop(self) -> None:
        """Start no new send (the sends in flight finish)."""
        self._stopping = True

    def _batches(self, name: str, rows: Sequence[Delivery], states: Mapping[str, ImageState],
                 users: Mapping[str, Sequence[Dependent]]) -> list[_Send]:
        channel = self._channels[name]
        groups: dict[str, list[Delivery]] = {}
        for delivery in rows:
            key = delivery.round_id if channel.grouped else f"{delivery.id}"
            groups.setdefault(key, []).append(delivery)
        sends = []
        for members in groups.values():
            notices = [notice_for(d.event, states.get(d.event.ref), users.get(d.event.ref, ()))
                       for d in members]
            batch = Batch.of(notices) if channel.grouped else Batch.single(notices[0])
            sends.append(_Send(name, batch, tuple(members)))
        return sends

    async def _send_channel(self, name: str, sends: Sequence[_Send],
                            deadline: float | None) -> DeliveryReport:
        """Send ``name``'s batches in order, recording each one's attempts as soon as it is
        answered: a crash resends at most the batch on the wire."""
        channel = self._channels[name]
        report = DeliveryReport()
        skipped: list[AttemptResult] = []
        failing: Outcome | None = None
        for index, send in enumerate(sends):
            if failing is not None:
                later = Outcome(OutcomeKind.RETRY, f"not sent: {name} is failing: "
                                f"{failing.error}", failing.retry_after)
                skipped.extend(self._results(send, later, report))
                continue
            if self._stopping or (deadline is not None and time.monotonic() >= deadline):
                report.left += sum(len(s.deliveries) for s in sends[index:])
                break
            outcome = await self._send_one(channel, send, deadline)
            if outcome is None:  # cut short by the deadline: stays due
                report.left += sum(len(s.deliveries) for s in sends[index:])
                break
            await asyncio.to_thread(self._store.record_attempts,
                                    list(self._results(send, outcome, report)))
            if outcome.kind is OutcomeKind.RETRY:
                failing = outcome
        if skipped:
            await asyncio.to_thread(self._store.record_attempts, skipped)
        return report

    async def _send_one(self, channel: Channel, send: _Send,
                        deadline: float | None) -> Outcome | None:
        try:
            if deadline is None:
                return await channel.send(send.batch)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            return await asyncio.wait_for(channel.send(send.batch), remaining)
        except TimeoutError:
            log.info("delivery left for the next run", channel=send.channel,
                     deliveries=len(send.deliveries))
            return None
        except WatcherError as exc:
            return Outcome.failed(exc.message)
        except Exception as exc:  # a channel must not raise; if one does, it is not lost
            log.exception("channel raised", channel=send.channel)
            return Outcome.retry(f"{send.channel}: unexpected error: {type(exc).__name__}")

    def _results(self, send: _Send, outcome: Outcome,
                 report: DeliveryReport) -> Iterable[AttemptResult]:
        now = self._clock()
        for delivery in send.deliveries:
            if outcome.kind is OutcomeKind.DELIVERED:
                report.delivered += 1
                yield AttemptResult(delivery.id, now, AttemptOutcome.DELIVERED)
            elif outcome.kind is OutcomeKind.FAILED:
                report.failed += 1
                report.errors[send.channel] = outcome.error or "failed"
                log.warning("delivery failed for good", channel=send.channel,
                            event_id=delivery.event.id, error=outcome.error)
                yield AttemptResult(delivery.id, now, AttemptOutcome.FAILED, outcome.error)
            else:
                wait = backoff(delivery.attempts + 1, self._rng, outcome.retry_after)
                next_at = now + timedelta(seconds=wait)
                report.errors[send.channel] = outcome.error or "retry"
                if next_at > delivery.expires_at:
                    report.expired += 1
                else:
                    report.retrying += 1
                log.info("delivery will be retried", channel=send.channel,
                         event_id=delivery.event.id, error=outcome.error,
                         retry_in_seconds=round(wait, 1))
                yield AttemptResult(delivery.id, now, AttemptOutcome.RETRY, outcome.error,
                                    next_at)


async def deliver_once(config: Config, store: Store, within: float,
                       *, clock: Clock = utcnow) -> DeliveryReport:
    """What ``watcher check`` does after its round: send what is due, for at most
    ``within`` seconds; what is left waits for the next run."""
    channels, problems = build_channels(config)
    report = DeliveryReport()
    for name, problem in problems.items():
        log.warning("notification channel unavailable", channel=name, error=problem)
        report.errors[name] = problem
    if not channels or within <= 0:
        return report
    worker = DeliveryWorker(store, channels, clock)
    report.add(await worker.deliver_due(time.monotonic() + within))
    return report


__all__ = [
    "DEFAULT_DELIVER_TIMEOUT",
    "DeliveryReport",
    "DeliveryWorker",
    "build_channel",
    "build_channels",
    "deliver_once",
    "notice_for",
    "routes",
]
