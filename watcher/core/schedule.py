"""When images are checked: an interval or a cron schedule, with a jitter that spreads them.

Cron expressions are read as cron(8) reads them, and handed to the scheduler in a form that
cannot be misread: day-of-week numbers are cron's (0 and 7 are Sunday), spelled out as names
(APScheduler's own numbers start at Monday), and a schedule that restricts both the day of
the month and the day of the week is refused, since cron fires when *either* matches and
APScheduler only when both do.

The jitter spreads a large fleet: each repository gets a stable offset within the jitter
window (from its name), so its images are checked at the same moment every interval, and
thousands of repositories do not all fire together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

MAX_JITTER = 300.0           # seconds: the default jitter is at most 5 minutes...
JITTER_SHARE = 0.1           # ...and at most 10% of the interval
SLOTS_PER_WINDOW = 20        # start times the jitter window is divided into, at most
MIN_SLOT_SECONDS = 1.0       # and no closer together than this

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# name, lowest, highest, names (index 0 is the lowest value)
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day_of_week", 0, 7, _DAYS),
)


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Cron:
    """A cron schedule as the scheduler's fields: ``minute``, ``hour``, ``day``, ``month``
    and ``day_of_week`` (``"*"`` or an explicit comma list; days of the week by name)."""

    expression: str
    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str

    def fields(self) -> dict[str, str]:
        return {"minute": self.minute, "hour": self.hour, "day": self.day,
                "month": self.month, "day_of_week": self.day_of_week}


@dataclass(frozen=True)
class Schedule:
    """An image's schedule: every ``interval`` seconds, or at ``cron`` in ``timezone``."""

    interval: float | None = 3600.0
    cron: Cron | None = None
    timezone: str = "UTC"
    jitter: float | None = None  # seconds; None: the default (see default_jitter)

    def effective_jitter(self) -> float:
        if self.jitter is not None:
            return self.jitter
        return default_jitter(self.interval if self.cron is None else None)

    def describe(self) -> str:
        if self.cron is not None:
            return f"cron '{self.cron.expression}' ({self.timezone})"
        return f"every {self.interval:g} s"


def default_jitter(interval: float | None) -> float:
    """Up to 10% of the interval, at most 5 minutes; for cron schedules, 5 minutes would
    move a check across the hour it was meant for, so: a tenth of that."""
    if interval is None:
        return MAX_JITTER * JITTER_SHARE
    return min(MAX_JITTER, interval * JITTER_SHARE)


def parse_cron(expression: str) -> Cron:
    """Five cron fields (or a macro such as ``@daily``); :class:`ScheduleError` says which
    field is wrong and why."""
    text = " ".join(expression.split())
    text = _MACROS.get(text.lower(), text)
    parts = text.split(" ")
    if len(parts) != 5:
        raise ScheduleError(
            f"{expression!r}: a cron schedule has 5 fields (minute hour day month weekday), "
            f"not {len(parts)}"
        )
    values = [_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    if values[2] is not None and values[4] is not None:
        raise ScheduleError(
            f"{expression!r}: restrict the day of the month or the day of the week, not both "
            "(cron would fire when either matches)"
        )
    minute, hour, day, month = (
        "*" if v is None else ",".join(str(n) for n in sorted(v)) for v in values[:4]
    )
    days = values[4]
    weekday = "*" if days is None else ",".join(_DAYS[n] for n in sorted({n % 7 for n in days}))
    return Cron(expression, minute, hour, day, month, weekday)


def _field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> set[int] | None:
    """The values a cron field allows, or None for ``*`` (every value)."""
    if text == "*":
        return None
    allowed: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ScheduleError(f"{name} field {text!r}: an empty item")
        body, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"{name} field {text!r}: step {step_text!r} is not a number >0")
            step = int(step_text)
        if body == "*":
            start, end = low, high if name != "day_of_week" else 6
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = _value(first, name, low, high, names), _value(last, name, low, high,
                                                                        names)
            if start > end:
                raise ScheduleError(f"{name} field {text!r}: range {body!r} runs backwards")
        else:
            start = _value(body, name, low, high, names)
            end = high if slash else start
        allowed.update(range(start, end + 1, step))
    return allowed


def _value(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> int:
    lowered = text.lower()
    if names and lowered in names:
        return names.index(lowered) + low
    if not text.isdigit():
        raise ScheduleError(f"{name} field: {text!r} is not a number from {low} to {high}"
                            + (f" or a name ({names[0]}, {names[1]}, ...)" if names else ""))
    value = int(text)
    if not low <= value <= high:
        raise ScheduleError(f"{name} field: {value} is not from {low} to {high}")
    return value


def slot_offset(key: str, jitter: float) -> float:
    """The stable start offset, within ``[0, jitter)``, of the images of ``key`` (a
    repository): the window is cut into at most 20 slots, at least a second apart."""
    if jitter <= 0:
        return 0.0
    slots = max(1, min(SLOTS_PER_WINDOW, int(jitter // MIN_SLOT_SECONDS)))
    digest = hashlib.sha256(key.encode()).digest()
    return (int.from_bytes(digest[:4], "big") % slots) * (jitter / slots)
