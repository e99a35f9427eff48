"""Short digests and ages, as every front end writes them."""

from __future__ import annotations

from datetime import UTC, datetime

from watcher.core.events import short_digest as short_digest  # re-exported


def age(when: datetime | None, now: datetime | None = None) -> str:
    """``just now``, ``5m ago``, ``3h ago``, ``12d ago``; ``never`` for None."""
    if when is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
