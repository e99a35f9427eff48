"""The history document (``watcher history --json``) and the wording of history entries."""

from __future__ import annotations

from typing import Any

from watcher.core.changes import HistoryEntry, HistoryKind
from watcher.core.events import (
    DigestChanged,
    EventKind,
    EventPayload,
    describe_event,
    payload_from_data,
    short_digest,
)

# History rows that record what an event tells, in the event's own fields.
_EVENT_KINDS = {
    HistoryKind.DIGEST_CHANGED: EventKind.DIGEST_CHANGED,
    HistoryKind.NEW_VERSION: EventKind.NEW_VERSION,
    HistoryKind.TAG_REMOVED: EventKind.TAG_REMOVED,
}


def entry_document(entry: HistoryEntry) -> dict[str, Any]:
    return {"at": entry.at.isoformat(), "kind": entry.kind.value, **entry.data}


def history_document(ref: str, entries: list[HistoryEntry]) -> dict[str, Any]:
    return {"ref": ref, "history": [entry_document(e) for e in entries]}


def entry_payload(entry: HistoryEntry) -> EventPayload | None:
    """The event payload a history row carries, for the kinds that have one."""
    kind = _EVENT_KINDS.get(entry.kind)
    return None if kind is None else payload_from_data(kind, entry.data)


def describe_entry(entry: HistoryEntry) -> str:
    """One history row for people; rows that tell an event word it as the event is worded."""
    data = entry.data
    payload = entry_payload(entry)
    if isinstance(payload, DigestChanged) and data.get("unwatched_only"):
        return describe_event(payload) + " (only platforms not watched)"
    if payload is not None:
        text = describe_event(payload)
        if entry.kind is HistoryKind.NEW_VERSION:
            same, newest = data.get("same_line") or "-", data.get("newest") or "-"
            text += f" (same line {same}, newest {newest})"
        return text
    match entry.kind:
        case HistoryKind.BASELINE:
            platforms = ", ".join(sorted(data.get("platforms", {})))
            return f"{short_digest(data.get('digest'))}" + (f" ({platforms})" if platforms else "")
        case HistoryKind.INDEX_CHANGED:
            return (
                f"{short_digest(data.get('old_digest'))} -> {short_digest(data.get('new_digest'))}"
                " (index only: no platform image changed)"
            )
        case HistoryKind.TAG_RESTORED:
            return f"tag exists again at {short_digest(data.get('digest'))}"
        case HistoryKind.FAILING:
            return f"checks failing: {data.get('error')}"
        case HistoryKind.RECOVERED:
            return f"checks succeed again after {data.get('failures')} failure(s)"
        case HistoryKind.NOTICE_WITHHELD:
            channels = ", ".join(data.get("channels") or ()) or "-"
            reason = data.get("reason") or "undone inside the soak window"
            return f"not announced ({channels}): {reason}"
        case _:
            return ", ".join(f"{key}={value}" for key, value in data.items())
