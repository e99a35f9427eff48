"""The schedule keys: ``interval`` or ``schedule`` (cron) with ``timezone`` and ``jitter``,
and ``tags_interval``; in ``[watcher]`` for every image, in ``[[images]]`` for one."""

from __future__ import annotations

import math
import zoneinfo
from collections.abc import Mapping
from typing import Any

from watcher.config.reader import Reader, format_duration, parse_duration
from watcher.core.schedule import Schedule, ScheduleError, parse_cron

DEFAULT_INTERVAL = 3600.0
DEFAULT_TAGS_INTERVAL = 6 * 3600.0
MAX_INTERVAL = 365 * 86400.0
MAX_JITTER = 86400.0
FIRST_CHECK = ("immediate", "scheduled")
SCHEDULE_KEYS = ("interval", "schedule", "timezone", "jitter", "tags_interval")


def parse_schedule(
    reader: Reader, table: Mapping[str, Any], where: str, default: Schedule | None
) -> Schedule | None:
    """The schedule ``table`` sets, or ``default`` when it sets none (None: it sets none and
    there is no default to fall back on, so it keeps the global one)."""
    key = f"{where}." if where else ""
    given = [k for k in ("interval", "schedule", "timezone", "jitter") if k in table]
    if not given:
        return default
    if "interval" in table and "schedule" in table:
        raise reader.error(f"{key}schedule", "set interval or schedule, not both")
    base = default or Schedule()
    timezone = base.timezone
    text = reader.string(table, f"{key}timezone")
    if text is not None:
        try:
            zoneinfo.ZoneInfo(text)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise reader.error(f"{key}timezone",
                               f"{text!r} is not a time zone such as 'UTC' or 'Europe/Berlin'"
                               ) from None
        timezone = text
    jitter = _jitter(reader, table, f"{key}jitter", base.jitter)
    if "schedule" in table:
        expression = reader.string(table, f"{key}schedule") or ""
        try:
            cron = parse_cron(expression)
        except ScheduleError as exc:
            raise reader.error(f"{key}schedule", str(exc)) from None
        return Schedule(interval=None, cron=cron, timezone=timezone, jitter=jitter)
    if "interval" in table:
        interval = reader.duration(table, f"{key}interval", DEFAULT_INTERVAL, MAX_INTERVAL)
        return Schedule(interval=interval, cron=None, timezone=timezone, jitter=jitter)
    return Schedule(base.interval, base.cron, timezone, jitter)


def _jitter(reader: Reader, table: Mapping[str, Any], key: str, default: float | None
            ) -> float | None:
    """A duration, where 0 turns the spreading off."""
    name = key.rpartition(".")[2]
    value = table.get(name)
    if value is None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return 0.0
    if isinstance(value, str) and value.strip() and _is_zero(value):
        return 0.0
    seconds = reader.duration(table, key, 0.0, MAX_JITTER)
    if not math.isfinite(seconds):
        raise reader.error(key, "must be a duration")
    return seconds


def _is_zero(text: str) -> bool:
    try:
        return parse_duration(text) == 0
    except ValueError:
        return False


def parse_tags_interval(
    reader: Reader, table: Mapping[str, Any], where: str, default: float | None
) -> float | None:
    key = f"{where}.tags_interval" if where else "tags_interval"
    if "tags_interval" not in table:
        return default
    return reader.duration(table, key, DEFAULT_TAGS_INTERVAL, MAX_INTERVAL)


def first_check(reader: Reader, table: Mapping[str, Any]) -> str:
    value = reader.string(table, "watcher.first_check") or "immediate"
    if value not in FIRST_CHECK:
        raise reader.error("watcher.first_check",
                           f"must be one of {', '.join(FIRST_CHECK)}, not {value!r}")
    return value


__all__ = ["DEFAULT_TAGS_INTERVAL", "FIRST_CHECK", "SCHEDULE_KEYS", "first_check",
           "format_duration", "parse_schedule", "parse_tags_interval"]
