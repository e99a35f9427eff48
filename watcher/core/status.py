"""What needs attention: a pure classification of an image's stored state."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from watcher.core.changes import EventKind, ImageState

REBUILD_KINDS = frozenset({EventKind.DIGEST_CHANGED, EventKind.TAG_REMOVED, EventKind.FIRST_SEEN})


class Attention(StrEnum):
    """One word per image, most urgent first."""

    REBUILD_NEEDED = "rebuild_needed"
    FAILING = "failing"
    NEWER_VERSION = "newer_version"
    UP_TO_DATE = "up_to_date"
    NOT_CHECKED = "not_checked"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @property
    def rank(self) -> int:
        return list(Attention).index(self)


def attention(state: ImageState, pending: Iterable[EventKind] = ()) -> Attention:
    """Pending rebuild events first, then failures, then newer versions on offer."""
    if REBUILD_KINDS.intersection(pending):
        return Attention.REBUILD_NEEDED
    if state.failing:
        return Attention.FAILING
    if not state.seen:
        return Attention.NOT_CHECKED
    if state.newer.same_line or state.newer.newest:
        return Attention.NEWER_VERSION
    return Attention.UP_TO_DATE
