"""``watcher db stats`` and ``watcher db prune``: their JSON documents and their words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watcher.store import DatabaseStats, PruneCounts


def prune_document(counts: PruneCounts, cutoff: datetime | None, *, dry_run: bool
                   ) -> dict[str, Any]:
    return {
        "dry_run": dry_run,
        "older_than": cutoff.isoformat() if cutoff else None,
        "history": counts.history,
        "events": counts.events,
        "deliveries": counts.deliveries,
        "delivery_attempts": counts.attempts,
        "batches": counts.batches,
    }


def stats_document(stats: DatabaseStats, database: str, keep: float | None,
                   prunable: PruneCounts | None, cutoff: datetime | None) -> dict[str, Any]:
    """``database`` is the URL with its password masked."""
    return {
        "database": database,
        "backend": stats.backend,
        "rows": dict(stats.rows),
        "active_images": stats.active_images,
        "pending_events": stats.pending_events,
        "history": {
            "oldest": stats.oldest_history.isoformat() if stats.oldest_history else None,
            "newest": stats.newest_history.isoformat() if stats.newest_history else None,
        },
        "size_bytes": stats.size,
        "free_bytes": stats.free,
        "wal_bytes": stats.wal,
        "table_size_bytes": dict(stats.table_sizes),
        "keep_history_seconds": keep,
        "prunable": None if prunable is None else
        {k: v for k, v in prune_document(prunable, cutoff, dry_run=True).items()
         if k not in ("dry_run", "batches")},
    }


def size_text(size: int | None) -> str:
    """``1.5 MiB``; ``-`` when unknown."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop returns


def counts_text(counts: PruneCounts) -> str:
    """``12 history rows, 3 events (5 deliveries, 7 attempts)``."""
    return (f"{counts.history} history row{'' if counts.history == 1 else 's'}, "
            f"{counts.events} event{'' if counts.events == 1 else 's'} "
            f"({counts.deliveries} deliveries, {counts.attempts} attempts)")


__all__ = ["counts_text", "prune_document", "size_text", "stats_document"]
