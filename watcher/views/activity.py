"""Checks and changes per day over the last days, and the chart's geometry (server-side SVG).

The store keeps a history row only when a check changed something, so the chart counts what
the history holds: changes (digest moved, tag removed or restored, index changed), new versions
and failures, per UTC day. The geometry is plain numbers; the template only writes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from watcher.core.changes import HistoryEntry, HistoryKind

SERIES = ("changes", "new_versions", "failures")
_SERIES_OF = {
    HistoryKind.DIGEST_CHANGED: "changes",
    HistoryKind.INDEX_CHANGED: "changes",
    HistoryKind.TAG_REMOVED: "changes",
    HistoryKind.TAG_RESTORED: "changes",
    HistoryKind.NEW_VERSION: "new_versions",
    HistoryKind.FAILING: "failures",
}
LABELS = {"changes": "changes", "new_versions": "new versions", "failures": "failures"}


@dataclass(frozen=True)
class Day:
    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Bar:
    series: str
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    peak: int
    first: date
    last: date
    description: str


def per_day(entries: Iterable[HistoryEntry], now: datetime, days: int = 30) -> list[Day]:
    """One Day for each of the last ``days`` UTC days, today last, every series counted."""
    last = now.date()
    first = last - timedelta(days=days - 1)
    table = {first + timedelta(days=i): dict.fromkeys(SERIES, 0) for i in range(days)}
    for entry in entries:
        series = _SERIES_OF.get(entry.kind)
        day = entry.at.date()
        if series and day in table:
            table[day][series] += 1
    return [Day(day, counts) for day, counts in table.items()]


def chart(days: list[Day], width: int = 600, height: int = 120) -> Chart:
    """Stacked bars, one per day; heights scaled to the busiest day (at least 1)."""
    peak = max([d.total for d in days] + [1])
    slot = width / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        bottom = float(height)
        for series in SERIES:
            count = day.counts[series]
            if not count:
                continue
            size = height * count / peak
            bottom -= size
            bars.append(Bar(series, round(i * slot + 1, 2), round(bottom, 2),
                            round(max(slot - 2, 1), 2), round(size, 2),
                            f"{day.day.isoformat()}: {count} {LABELS[series]}"))
    totals = {s: sum(d.counts[s] for d in days) for s in SERIES}
    description = ", ".join(f"{totals[s]} {LABELS[s]}" for s in SERIES)
    return Chart(width, height, tuple(bars), peak, days[0].day, days[-1].day,
                 f"Last {len(days)} days: {description}.")
