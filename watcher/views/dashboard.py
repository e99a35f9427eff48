"""The page's list of images (``/``): the status rows, filtered by state and text, counted.

Built from the same rows and documents as ``watcher status --json``; only the filtering and
the wording for people are added here. Columns that other tables will feed later (containers,
dependents) are plain optional mappings by ref, shown when some value exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from watcher.core.status import Attention, unacknowledged_newer
from watcher.views.status import StatusRow, image_document, reasons
from watcher.views.words import age, short_digest


@dataclass(frozen=True)
class Filters:
    """What the person asked to see: one state (None: all) and a text to find in the ref."""

    state: Attention | None = None
    text: str = ""

    @classmethod
    def parse(cls, state: str | None, text: str | None) -> Filters:
        """From query parameters; an unknown state shows every state (the form offers only
        known ones, so a stale link degrades to the full list rather than an error)."""
        chosen = next((a for a in Attention if a.value == (state or "").strip()), None)
        return cls(chosen, (text or "").strip()[:200])

    def keeps(self, row: StatusRow) -> bool:
        if self.state is not None and row.level is not self.state:
            return False
        return self.text.casefold() in row.item.state.ref.casefold()


@dataclass(frozen=True)
class PageRow:
    """One image as the page shows it."""

    ref: str
    status: Attention
    tag: str
    digest: str
    changed: str
    checked: str
    newer: str
    reasons: tuple[str, ...]
    extra: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Dashboard:
    rows: tuple[PageRow, ...]
    counts: Mapping[Attention, int]
    total: int
    filters: Filters
    columns: tuple[str, ...]  # optional counted columns with data, e.g. "containers"


def tag_of(ref: str) -> str:
    """The tag of a canonical reference (the part after the last ':' past the last '/')."""
    name = ref.rsplit("/", 1)[-1]
    return name.rsplit(":", 1)[1] if ":" in name else ""


def newer_text(row: StatusRow) -> str:
    newer = row.item.state.newer
    tags = [t for t in dict.fromkeys((newer.same_line, newer.newest)) if t]
    text = ", ".join(tags)
    if text and not unacknowledged_newer(row.item.state):
        text += " (acknowledged)"
    return text


def page_row(row: StatusRow, now: datetime, extra: Mapping[str, int]) -> PageRow:
    state = row.item.state
    return PageRow(
        ref=state.ref,
        status=row.level,
        tag=tag_of(state.ref),
        digest=short_digest(state.digest) if state.digest else "-",
        changed=age(state.last_changed_at, now),
        checked=age(state.last_checked_at, now),
        newer=newer_text(row),
        reasons=tuple(reasons(row.level, row.item, now)),
        extra=extra,
    )


def dashboard(
    rows: Sequence[StatusRow],
    filters: Filters,
    now: datetime,
    counted: Mapping[str, Mapping[str, int]] | None = None,
) -> Dashboard:
    """``counted``: per column name (``containers``, ``dependents``), a count per ref; a
    column is shown when it has data for some image."""
    counted = counted or {}
    columns = tuple(name for name, by_ref in counted.items() if by_ref)
    kept = [
        page_row(row, now, {name: counted[name].get(row.item.state.ref, 0) for name in columns})
        for row in rows
        if filters.keeps(row)
    ]
    counts = {a: sum(1 for row in rows if row.level is a) for a in Attention}
    return Dashboard(tuple(kept), counts, len(rows), filters, columns)


def api_image(row: StatusRow, now: datetime) -> dict[str, Any]:
    """``/api/images/<id>``'s ``image``: the status document's entry plus the reasons."""
    return {**image_document(row), "reasons": reasons(row.level, row.item, now)}
