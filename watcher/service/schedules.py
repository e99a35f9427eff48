"""From schedules to scheduler triggers (APScheduler 3), and images grouped by schedule."""

from __future__ import annotations

import zoneinfo
from datetime import UTC

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
