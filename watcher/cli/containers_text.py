"""``watcher status --containers`` for people: one row per container, and below it why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from watcher.cli.output import age, elide, short_digest, table_lines
from watcher.terminal import printable
from watcher.views.containers import ContainerRow

HEADERS = ("HOST", "CONTAINER", "IMAGE", "RUNNING", "CURRENT", "SINCE", "STATE")
_INDENT = "    "


def render_containers(rows: Sequence[ContainerRow], now: datetime, *, colour: bool,
                      width: int | None) -> str:
    lines = table_lines(
        HEADERS,
        [[r.host, r.name, r.image, short_digest(r.verdict.running),
          short_digest(r.verdict.current), age(r.since, now) if r.since else "-",
          "stale" if r.stale else ("newer version" if r.newer else r.verdict.freshness.value)]
         for r in rows],
        ["yellow" if r.stale else "cyan" for r in rows],
        colour=colour,
        width=width,
        shrink=(2, 1),
    )
    out = [lines[0]]
    for line, item in zip(lines[1:], rows, strict=True):
        out.append(line)
        why = [item.verdict.reason + (f" ({item.platform})" if item.platform and item.stale
                                      and item.platform not in item.verdict.reason else "")]
        if item.newer:
            why.append("newer: " + ", ".join(item.newer))
        for reason in why:
            text = _INDENT + printable(reason)
            out.append(elide(text, width) if width is not None else text)
    return "\n".join(out)
