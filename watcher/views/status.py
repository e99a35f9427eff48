"""The status document (``watcher status --json``), the attention order, and the reasons.

Fed by the store's records only: the stored state of each image and its pending events, and
the deliveries counted per channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher.core.events import describe_event
from watcher.core.status import (
    REBUILD_KINDS,
    Attention,
    Concern,
    attention_of,
    concerns,
    unacknowledged_newer,
)
from watcher.store import Dependent, ImageStatus
from watcher.views.events import Counts, State, counts_document
from watcher.views.words import age, iso


@dataclass(frozen=True)
class StatusRow:
    """One image in attention order: how urgent, and what the store holds about it."""

    level: Attention
    item: ImageStatus
    concerns: frozenset[Concern]


def status_row(item: ImageStatus) -> StatusRow:
    """The image's concerns, worked out once, and the attention level they make."""
    found = concerns(item.state, [p.kind for p in item.pending])
    return StatusRow(attention_of(item.state, found), item, found)


def status_rows(statuses: Iterable[ImageStatus]) -> list[StatusRow]:
    """Most urgent first, then by reference."""
    rows = [status_row(s) for s in statuses]
    return sorted(rows, key=lambda row: (row.level.rank, row.item.state.ref))


def gate_failed(rows: Iterable[StatusRow], gate: frozenset[Concern]) -> bool:
    """True when some image has one of the concerns a CI gate fails on."""
    return bool(gate) and any(gate & row.concerns for row in rows)


def image_document(row: StatusRow) -> dict[str, Any]:
    item, state = row.item, row.item.state
    return {
        "ref": state.ref,
        "status": row.level.value,
        "active": item.active,
        "digest": state.digest,
        "platforms": dict(state.platforms),
        "last_changed_at": iso(state.last_changed_at),
        "last_checked_at": iso(state.last_checked_at),
        "newer": {"same_line": state.newer.same_line, "newest": state.newer.newest},
        "failing": {
            "count": state.failure_count,
            "since": iso(state.failing_since),
            "last_error": state.last_error,
            "status": state.last_error_status,
        }
        if state.failing
        else None,
        "missing_platforms": list(state.missing_platforms),
        "tags_error": state.tags_error,
        "concerns": sorted(c.value for c in row.concerns),
        "pending_events": [
            {"id": p.id, "kind": p.kind.value, "created_at": iso(p.created_at),
             "why": describe_event(p.payload)}
            for p in item.pending
        ],
    }


def status_document(
    rows: Sequence[StatusRow], deliveries: Counts[State] | None = None,
    dependents: Mapping[str, Sequence[Dependent]] | None = None,
) -> dict[str, Any]:
    """The images, the summary, and (with ``deliveries``: the store's counts per channel and
    state) every channel's deliveries counted by state. With ``dependents``, each image
    lists what uses it (the files sources' lines, the engine sources' containers) and
    counts it."""
    users = dependents or {}
    return {
        "images": [{**image_document(row),
                    "dependent_count": len(users.get(row.item.state.ref, ())),
                    "dependents": [dependent_document(d)
                                   for d in users.get(row.item.state.ref, ())]}
                   if dependents is not None else image_document(row) for row in rows],
        "summary": {a.value: sum(1 for row in rows if row.level is a) for a in Attention},
        "deliveries": counts_document(deliveries or {}),
    }


def dependent_document(dependent: Dependent) -> dict[str, Any]:
    return {"source_kind": dependent.source_kind, "source_name": dependent.source_name,
            "label": dependent.label, "locator": dependent.locator,
            "first_seen_at": iso(dependent.first_seen_at)}


USED_BY_SHOWN = 5


def used_by(dependents: Sequence[Dependent]) -> str | None:
    """``used by: host/web, host/worker (+3 more)``: what to rebuild or restart."""
    if not dependents:
        return None
    names = [f"{d.source_name}/{d.label}" for d in dependents]
    more = len(names) - USED_BY_SHOWN
    return "used by: " + ", ".join(names[:USED_BY_SHOWN]) + (f" (+{more} more)" if more > 0
                                                                else "")


def reasons(level: Attention, item: ImageStatus, now: datetime,
            dependents: Sequence[Dependent] = ()) -> list[str]:
    """Why the image is where it is: one short sentence a line, most important first; then
    what uses it."""
    state = item.state
    # Newer versions are told from the state below, acknowledged or not.
    lines = [
        describe_event(event.payload, age(event.created_at, now))
        for event in sorted(item.pending, key=lambda e: e.created_at)
        if event.kind in REBUILD_KINDS
    ]
    if state.failing:
        http = f", HTTP {state.last_error_status}" if state.last_error_status else ""
        checks = "1 check" if state.failure_count == 1 else f"{state.failure_count} checks"
        lines.append(
            f"failing: {checks} since {age(state.failing_since, now)}{http}: "
            f"{_without_ref(state.last_error, state.ref) or 'no error recorded'}"
        )
    lines.extend(f"warning: platform {p} is not in the image" for p in state.missing_platforms)
    if state.tags_error:
        lines.append(f"warning: {state.tags_error}")
    newer = state.newer
    if newer.same_line or newer.newest:
        parts = []
        if newer.same_line:
            parts.append(f"{newer.same_line} on the same line")
        if newer.newest and newer.newest != newer.same_line:
            parts.append(f"{newer.newest} newest")
        elif newer.newest:
            parts[-1] += ", also the newest"
        acknowledged = not unacknowledged_newer(state)
        lines.append("newer: " + "; ".join(parts) + (" (acknowledged)" if acknowledged else ""))
    if level is Attention.NOT_CHECKED and not state.failing:
        lines.append("never checked successfully: run `watcher check`")
    users = used_by(dependents)
    if users and level is not Attention.UP_TO_DATE:
        lines.append(users)
    return lines


def _without_ref(error: str | None, ref: str) -> str | None:
    """An error without its leading ``REF on REGISTRY: ``: the row above names the image."""
    if error and error.startswith(f"{ref} on "):
        _, _, rest = error.partition(": ")
        return rest or error
    return error
