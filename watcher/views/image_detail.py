"""One image for the page and ``/api/images/<id>``: status, reasons, timeline, events and their
deliveries per channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher.core.changes import HistoryEntry, HistoryKind
from watcher.core.events import describe_event
from watcher.store import StoredEvent
from watcher.views.dashboard import PageRow, api_image, page_row
from watcher.views.events import DeliveryRecord, delivery_document, delivery_note
from watcher.views.history import describe_entry, entry_document
from watcher.views.status import StatusRow
from watcher.views.words import age

# How the timeline marks each kind of row (a CSS class and a word).
TIMELINE_MARK = {
    HistoryKind.BASELINE: "first seen",
    HistoryKind.DIGEST_CHANGED: "digest changed",
    HistoryKind.INDEX_CHANGED: "index changed",
    HistoryKind.NEW_VERSION: "new version",
    HistoryKind.TAG_REMOVED: "tag removed",
    HistoryKind.TAG_RESTORED: "tag restored",
    HistoryKind.FAILING: "error",
    HistoryKind.RECOVERED: "recovered",
    HistoryKind.NOTICE_WITHHELD: "not announced",
}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    ago: str
    kind: str
    mark: str
    text: str
    platforms: tuple[str, ...]


@dataclass(frozen=True)
class EventView:
    id: str
    kind: str
    text: str
    ago: str
    acknowledged: bool
    deliveries: tuple[tuple[str, str, str | None], ...]  # channel, state, note


@dataclass(frozen=True)
class ImageDetail:
    row: PageRow
    platforms: tuple[tuple[str, str], ...]
    missing_platforms: tuple[str, ...]
    timeline: tuple[TimelineEntry, ...]
    events: tuple[EventView, ...]


def _platforms(entry: HistoryEntry) -> tuple[str, ...]:
    changed = entry.data.get("changed_platforms") or entry.data.get("platforms") or {}
    if isinstance(changed, dict):
        return tuple(f"{p} {what}" if isinstance(what, str) and what in
                     ("added", "removed", "changed") else str(p)
                     for p, what in sorted(changed.items()))
    return tuple(sorted(str(p) for p in changed))


def timeline(entries: Sequence[HistoryEntry], now: datetime) -> tuple[TimelineEntry, ...]:
    """Newest first."""
    return tuple(
        TimelineEntry(e.at, age(e.at, now), e.kind.value, TIMELINE_MARK.get(e.kind, e.kind.value),
                      describe_entry(e), _platforms(e))
        for e in sorted(entries, key=lambda e: e.at, reverse=True)
    )


def event_views(
    events: Sequence[StoredEvent], deliveries: Sequence[DeliveryRecord], now: datetime
) -> tuple[EventView, ...]:
    by_event: dict[str, list[DeliveryRecord]] = {}
    for delivery in deliveries:
        by_event.setdefault(delivery.event.id, []).append(delivery)
    return tuple(
        EventView(
            event.id, event.kind.value, describe_event(event.payload), age(event.created_at, now),
            event.acknowledged_at is not None,
            tuple((d.channel, str(d.state), delivery_note(d))
                  for d in sorted(by_event.get(event.id, []), key=lambda d: (d.channel, d.id))),
        )
        for event in sorted(events, key=lambda e: e.created_at, reverse=True)
    )


def image_detail(
    row: StatusRow,
    history: Sequence[HistoryEntry],
    events: Sequence[StoredEvent],
    deliveries: Sequence[DeliveryRecord],
    now: datetime,
) -> ImageDetail:
    state = row.item.state
    return ImageDetail(
        row=page_row(row, now, {}),
        platforms=tuple(sorted(state.platforms.items())),
        missing_platforms=tuple(state.missing_platforms),
        timeline=timeline(history, now),
        events=event_views(events, deliveries, now),
    )


def image_api_document(
    row: StatusRow,
    history: Sequence[HistoryEntry],
    events: Sequence[StoredEvent],
    deliveries: Sequence[DeliveryRecord],
    now: datetime,
) -> dict[str, Any]:
    """``/api/images/<id>``: the status entry, its history and its events with deliveries."""
    by_event: dict[str, list[dict[str, Any]]] = {}
    for delivery in deliveries:
        by_event.setdefault(delivery.event.id, []).append(delivery_document(delivery))
    return {
        "image": api_image(row, now),
        "history": [entry_document(e) for e in history],
        "events": [
            {"id": e.id, "kind": e.kind.value, "created_at": e.created_at.isoformat(),
             "acknowledged_at": e.acknowledged_at.isoformat() if e.acknowledged_at else None,
             "deliveries": by_event.get(e.id, [])}
            for e in events
        ],
    }
