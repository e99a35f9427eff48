"""``watcher status`` for people: one row per image, and below it why it is in that state.

The rows and the reasons come from ``watcher.views.status``; this module only lays them out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from watcher.cli.output import age, elide, short_digest, table_lines
from watcher.core.reference import split_tag
from watcher.core.status import Attention
from watcher.store import Dependent, ImageStatus
from watcher.terminal import printable
from watcher.views.status import StatusRow, reasons

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
    rows: Sequence[StatusRow],
    now: datetime,
    *,
    colour: bool,
    width: int | None,
    dependents: Mapping[str, Sequence[Dependent]] | None = None,
) -> str:
    """The table, each image's reasons indented below its row; every line fits ``width``.
    When some image has dependents, a ``USED BY`` column counts each image's."""
    users_of = dependents or {}
    counted = any(users_of.get(r.item.state.ref) for r in rows)
    headers = (*HEADERS[:-1], "USED BY", HEADERS[-1]) if counted else HEADERS
    cells = [row(r.level, r.item, now) for r in rows]
    if counted:
        cells = [[*cell[:-1], str(len(users_of.get(r.item.state.ref, ()))), cell[-1]]
                 for cell, r in zip(cells, rows, strict=True)]
    lines = table_lines(
        headers,
        cells,
        [COLOURS[r.level] for r in rows],
        colour=colour,
        width=width,
        shrink=(0, 1, 2),
    )
    out = [lines[0]]
    for line, status in zip(lines[1:], rows, strict=True):
        out.append(line)
        users = (dependents or {}).get(status.item.state.ref, ())
        for reason in reasons(status.level, status.item, now, users):
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


def render_deliveries(lines: Sequence[tuple[str, str]], *, width: int | None) -> str:
    """The block below the table: each channel with undelivered or failing deliveries."""
    if not lines:
        return ""
    name_width = max(len(printable(channel)) for channel, _ in lines)
    out = ["Deliveries waiting or failing (`watcher events` lists them):"]
    for channel, what in lines:
        text = f"{_INDENT}{printable(channel).ljust(name_width)}  {what}"
        out.append(elide(text, width) if width is not None else text)
    return "\n".join(out)
