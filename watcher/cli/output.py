"""Presentation for people: tables, ages, short digests, colour only on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

import click


def is_terminal(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def short_digest(digest: str | None) -> str:
    if not digest:
        return "-"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest[:19]


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


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    styles: Sequence[str | None] = (),
    *,
    colour: bool,
) -> str:
    """Left-aligned columns; ``styles[i]`` colours row i when ``colour`` is on."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()

    out = [click.style(line(headers), bold=True) if colour else line(headers)]
    for index, row in enumerate(rows):
        text = line(row)
        style = styles[index] if index < len(styles) else None
        out.append(click.style(text, fg=style) if colour and style else text)
    return "\n".join(out)


class ProgressLine:
    """A one-line progress bar on standard error, redrawn in place; silent when disabled."""

    def __init__(self, total: int, *, enabled: bool, width: int = 24) -> None:
        self.total = total
        self.enabled = enabled and total > 0
        self.width = width
        self.done = self.changed = self.failed = 0

    def update(self, *, changed: bool, failed: bool) -> None:
        self.done += 1
        self.changed += changed
        self.failed += failed
        if self.enabled:
            filled = self.width * self.done // self.total
            bar = "#" * filled + "." * (self.width - filled)
            click.echo(
                f"\r[{bar}] {self.done}/{self.total} images  "
                f"{self.changed} changed  {self.failed} failed",
                err=True,
                nl=False,
            )

    def close(self) -> None:
        if self.enabled:
            click.echo("\r\033[K", err=True, nl=False)
