"""Registry budgets as `watcher status` shows them: what each registry last said of its
rate limit, and whether it asked watcher to back off."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watcher.store import RegistryBudget
from watcher.views.words import age, iso


def budget_document(budget: RegistryBudget) -> dict[str, Any]:
    return {
        "registry": budget.registry,
        "observed_at": iso(budget.observed_at),
        "limit": budget.limit,
        "remaining": budget.remaining,
        "window_seconds": budget.window_seconds,
        "backoffs": budget.backoffs,
        "paused_until": iso(budget.paused_until),
    }


def budget_line(budget: RegistryBudget, now: datetime) -> str:
    """One line per registry, such as
    ``docker.io: 87 of 100 requests left in a 6h window (seen 2m ago)``."""
    parts = []
    if budget.limit is not None:
        left = "?" if budget.remaining is None else str(budget.remaining)
        window = f" in a {_window(budget.window_seconds)} window" if budget.window_seconds else ""
        parts.append(f"{left} of {budget.limit} requests left{window}")
    if budget.backoffs:
        times = "time" if budget.backoffs == 1 else "times"
        parts.append(f"asked to back off {budget.backoffs} {times}")
    if budget.paused_until is not None and budget.paused_until > now:
        parts.append(f"paused until {iso(budget.paused_until)}")
    return f"{budget.registry}: {'; '.join(parts)} (seen {age(budget.observed_at, now)})"


def _window(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
