"""From a retention period to the time before which history may be pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def cutoff(keep: float | None, now: datetime | None = None) -> datetime | None:
    """``now`` minus ``keep`` seconds; None when ``keep`` is None (everything is kept)."""
    if keep is None:
        return None
    return (now or datetime.now(UTC)) - timedelta(seconds=keep)


__all__ = ["cutoff"]
