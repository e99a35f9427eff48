"""The rules shared replicas follow, apart from their loop (``service.fleet``): the image
set's identity and versioned sync, the images outside a replica's config, when an image is
due again, when a registry's budget is spent fleet-wide, each replica's share of a
registry's rate, and a replica's pace."""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from watcher.config import Config
from watcher.core.schedule import Schedule, slot_offset
from watcher.logs import get_logger
from watcher.registry import Rate, RegistrySettings
from watcher.service.schedules import trigger_for
from watcher.store import ImageSetSync, RegistryBudget, Store

log = get_logger("watcher.fleet")

ClientSettings = tuple[dict[str, RegistrySettings], RegistrySettings]
MAX_SKIP = 1000  # images outside a config left out of claims by name; more come back


def image_set_digest(config: Config) -> str:
    """The image set's identity: its references, sorted (the order in the file is not a
    change)."""
    text = "\n".join(sorted(str(i.ref) for i in config.images))
    return hashlib.sha256(text.encode()).hexdigest()


def sync_image_set(store: Store, config: Config, *, known: int | None,
                   by: str) -> ImageSetSync:
    """Write ``config``'s image set into the database unless a newer one is there
    (:meth:`~watcher.store.Store.sync_image_set`), and say which."""
    result = store.sync_image_set([str(i.ref) for i in config.images], image_set_digest(config),
                                  known=known, by=by, now=datetime.now(UTC))
    if result.behind:
        log.warning("this config's image set is older than the database's; the newer one "
                    "stands (update this replica's config)", image_set_version=result.version)
    elif result.applied:
        log.info("image set synchronised", image_set_version=result.version,
                 images=len(config.images))
    return result


class OutsideImages:
    """Images a replica claimed that its config does not track (a newer image set added
    them): claims leave out up to ``MAX_SKIP`` of them by name; past that (a config far
    behind), the rest may be claimed again, and are given back at once each time."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self.skip: frozenset[str] = frozenset()

    def note(self, refs: Sequence[str]) -> bool:
        """Remember ``refs``; True the first time any is noted (the time to say so)."""
        first = not self._seen
        self._seen.update(refs)
        if len(self.skip) < MAX_SKIP:
            fresh = [r for r in dict.fromkeys(refs) if r not in self.skip]
            self.skip = self.skip | frozenset(fresh[:MAX_SKIP - len(self.skip)])
        return first


def next_check(schedule: Schedule, key: str, due_at: datetime | None,
               now: datetime) -> datetime:
    """When an image checked ``now`` is due again. An interval keeps its cadence from the
    time it was due (so a check that waited does not push the next one later), restarting
    from now when it fell a whole interval behind; the first time, the repository's stable
    offset within the jitter (``key``) spreads the fleet. A cron schedule: its next time
    after now, plus that offset."""
    offset = timedelta(seconds=slot_offset(key, schedule.effective_jitter()))
    if schedule.cron is None:
        assert schedule.interval is not None
        step = timedelta(seconds=schedule.interval)
        if due_at is not None and due_at + step > now:
            return due_at + step
        return now + step + (offset if due_at is None else timedelta(0))
    after = now + timedelta(seconds=1)  # strictly after now: checked at its time, due next
    fire = trigger_for(schedule).get_next_fire_time(None, after)
    return (fire.astimezone(UTC) if fire is not None else now + timedelta(days=365)) + offset


def reserved_until(budget: RegistryBudget, reserve: float, now: datetime) -> datetime | None:
    """Until when no replica may spend ``budget``'s registry: while it asked to back off,
    or while its stated remaining budget is down to the reserve within its window."""
    if budget.paused_until is not None and budget.paused_until > now:
        return budget.paused_until
    if budget.limit is None or budget.remaining is None or budget.limit <= 0:
        return None
    if budget.window_seconds is None:
        return None
    ends = budget.observed_at + timedelta(seconds=budget.window_seconds)
    if ends > now and budget.remaining <= max(1.0, budget.limit * reserve):
        return ends
    return None


def shared_settings(settings: ClientSettings, replicas: int) -> ClientSettings:
    """Each registry's rate divided among ``replicas`` live replicas: together they keep it."""
    per_host, default = settings
    if replicas <= 1:
        return settings

    def divided(value: RegistrySettings) -> RegistrySettings:
        if value.rate is None:
            return value
        return replace(value, rate=Rate(value.rate.requests / replicas, value.rate.period))

    return {host: divided(s) for host, s in per_host.items()}, divided(default)


@dataclass
class Pace:
    """Checks done, for the heartbeat's checks per minute."""

    total: int = 0

    def __post_init__(self) -> None:
        self._recent: deque[tuple[float, int]] = deque()

    def add(self, count: int) -> None:
        self.total += count
        self._recent.append((time.monotonic(), count))

    def per_minute(self) -> float:
        cutoff = time.monotonic() - 60.0
        while self._recent and self._recent[0][0] < cutoff:
            self._recent.popleft()
        return float(sum(n for _, n in self._recent))


__all__ = ["MAX_SKIP", "ClientSettings", "OutsideImages", "Pace", "image_set_digest",
           "next_check", "reserved_until", "shared_settings", "sync_image_set"]
