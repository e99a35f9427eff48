"""From schedules to scheduler triggers (APScheduler 3), and images grouped by schedule."""

from __future__ import annotations

import itertools
import zoneinfo
from datetime import UTC, datetime

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.config import Config, TrackedImage
from watcher.core.schedule import Schedule


def group_by_schedule(config: Config) -> dict[Schedule, list[TrackedImage]]:
    """The configured images by the schedule each follows, in config order."""
    groups: dict[Schedule, list[TrackedImage]] = {}
    for image in config.images:
        groups.setdefault(config.schedule_of(image), []).append(image)
    return groups


def trigger_for(schedule: Schedule) -> BaseTrigger:
    """The schedule's trigger. Its jitter is not the scheduler's (that would move the whole
    group by one random amount): each round spreads its own checks (``CheckRound``)."""
    if schedule.cron is not None:
        return CronTrigger(timezone=zoneinfo.ZoneInfo(schedule.timezone),
                           **schedule.cron.fields())
    assert schedule.interval is not None
    return IntervalTrigger(seconds=schedule.interval, timezone=UTC)


def period_of(schedule: Schedule) -> float:
    """Seconds between two rounds: the interval, or for a cron schedule the longest gap
    between its next few times (a weekday schedule's weekend gap included)."""
    if schedule.interval is not None:
        return schedule.interval + schedule.effective_jitter()
    trigger = trigger_for(schedule)
    now = datetime.now(UTC)
    times: list[datetime] = []
    previous: datetime | None = None
    for _ in range(8):  # given the previous time, the trigger finds the one after it
        fire = trigger.get_next_fire_time(previous, previous or now)
        if fire is None or (previous is not None and fire <= previous):
            break
        times.append(fire)
        previous = fire
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    return (max(gaps) if gaps else 86400.0) + schedule.effective_jitter()
