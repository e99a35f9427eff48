"""Presentation for people: tables, ages, short digests, colour only on a terminal."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from typing import TextIO

import click

from watcher.terminal import printable
from watcher.views.words import age as age  # re-exported
from watcher.views.words import short_digest as short_digest  # re-exported


def is_terminal(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def use_colour(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR")


def output_width() -> int | None:
    """Columns to fit the output in: the terminal's (or ``$COLUMNS``); None when piped."""
    if not os.environ.get("COLUMNS", "").isdigit() and not is_terminal():
        return None
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def elide(text: str, width: int, *, middle: bool = False) -> str:
    """``text`` cut to ``width`` characters with an ellipsis (at the end, or in the middle)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    if not middle:
        return text[: width - 1] + "…"
    head = (width - 1) // 2
    tail = width - 1 - head
    return text[:head] + "…" + text[len(text) - tail :]


def table_lines(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    styles: Sequence[str | None] = (),
    *,
    colour: bool,
    width: int | None = None,
    shrink: Sequence[int] = (0,),
) -> list[str]:
    """Left-aligned columns, header first; ``styles[i]`` colours row i when ``colour`` is on.

    Cells pass through :func:`printable`. With ``width``, the columns listed in ``shrink``
    (widest first) are elided in the middle until every line fits.
    """
    cells = [[printable(cell) for cell in row] for row in rows]
    if any(len(row) != len(headers) for row in cells):
        raise ValueError("every row needs one cell per header")
    widths = [len(header) for header in headers]
    # Column by column (10,000 rows is common); the check above makes every row as long.
    for position, column in enumerate(zip(*cells, strict=True)):
        widths[position] = max(widths[position], *map(len, column))
    if width is not None:
        excess = sum(widths) + 2 * (len(widths) - 1) - width
        floors = {i: min(widths[i], max(len(headers[i]), 8)) for i in shrink}
        while excess > 0:  # take one column from the widest that can give one
            index = max(shrink, key=lambda i: widths[i] - floors[i], default=None)
            if index is None or widths[index] <= floors[index]:
                break
            widths[index] -= 1
            excess -= 1

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            [cell.ljust(w) if len(cell) <= w else elide(cell, w, middle=True)
             for cell, w in zip(row, widths, strict=True)]
        ).rstrip()

    out = [click.style(line(headers), bold=True) if colour else line(headers)]
    for index, row in enumerate(cells):
        text = line(row)
        if width is not None:
            text = elide(text, width)
        style = styles[index] if index < len(styles) else None
        out.append(click.style(text, fg=style) if colour and style else text)
    return out


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    styles: Sequence[str | None] = (),
    *,
    colour: bool,
    width: int | None = None,
) -> str:
    """:func:`table_lines` joined."""
    return "\n".join(table_lines(headers, rows, styles, colour=colour, width=width))


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
