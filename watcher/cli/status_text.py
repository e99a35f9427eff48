"""``watcher status`` for people: one row per image, and below it why it is in that state.

Fed by plain data (the stored state and the pending events), so new facts only add lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from watcher.cli.output import age, elide, short_digest, table_lines
from watcher.core.changes import EventKind
from watcher.core.reference import split_tag
from watcher.core.status import Attention, unacknowledged_newer
from watcher.store import ImageStatus
from watcher.terminal import printable

COLOURS = {
    Attention.REBUILD_NEEDED: "yellow",
    Attention.FAILING: "red",
    Attention.NEWER_VERSION: "cyan",
    Attention.UP_TO_DATE: "green",
    Attention.NOT_CHECKED: None,
}
HEADERS = ("IMAGE", "TAG", "DIGEST", "CHECKED", "STATE")
_INDENT = "    "


def render_status(
    rows: Sequence[tuple[Attention, ImageStatus]],
    now: datetime,
    *,
    colour: bool,
    width: int | None,
) -> str:
    """The table, each image's reasons indented below its row; every line fits ``width``."""
    lines = table_lines(
        HEADERS,
        [row(level, item, now) for level, item in rows],
        [COLOURS[level] for level, _ in rows],
        colour=colour,
        width=width,
        shrink=(0, 1, 2),
    )
    out = [lines[0]]
    for line, (level, item) in zip(lines[1:], rows, strict=True):
        out.append(line)
        for reason in reasons(level, item, now):
            text = _INDENT + printable(reason)
            out.append(elide(text, width) if width is not None else text)
    return "\n".join(out)


def row(level: Attention, item: ImageStatus, now: datetime) -> list[str]:
    state = item.state
    name, tag = split_tag(state.ref)
    label = level.label
    if level is Attention.REBUILD_NEEDED and state.failing:
        label += " (failing)"
    return [
        name,
        tag or "-",
        short_digest(state.digest),
        age(state.last_checked_at, now),
        label + ("" if item.active else " (inactive)"),
    ]


def reasons(level: Attention, item: ImageStatus, now: datetime) -> list[str]:
    """Why the image is where it is: one short sentence a line, most important first."""
    state = item.state
    lines: list[str] = []
    for event in sorted(item.pending, key=lambda e: e.created_at):
        when = age(event.created_at, now)
        if event.kind is EventKind.DIGEST_CHANGED:
            lines.append(_moved(event.data, when))
        elif event.kind is EventKind.TAG_REMOVED:
            was = short_digest(event.data.get("tag_digest"))
            lines.append(f"tag removed {when} (it pointed to {was})")
        elif event.kind is EventKind.FIRST_SEEN:
            lines.append(f"first seen {when} at {short_digest(event.data.get('digest'))}")
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
    return lines


def _without_ref(error: str | None, ref: str) -> str | None:
    """An error without its leading ``REF on REGISTRY: ``: the row above names the image."""
    if error and error.startswith(f"{ref} on "):
        _, _, rest = error.partition(": ")
        return rest or error
    return error


def _moved(data: Mapping[str, Any], when: str) -> str:
    platforms: Mapping[str, str] = data.get("changed_platforms") or {}
    digests = f"{short_digest(data.get('old_digest'))} -> {short_digest(data.get('new_digest'))}"
    if not platforms:
        return f"moved {when}: {digests}"
    listed = ", ".join(
        platform if how == "changed" else f"{platform} {how}"
        for platform, how in sorted(platforms.items())
    )
    return f"moved {when} on {listed}: {digests}"
