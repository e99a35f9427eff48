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
        return _RANKS[self]


# Most urgent first: the order the members are declared in (status sorts 10,000 by it).
_RANKS = {level: index for index, level in enumerate(Attention)}


class Concern(StrEnum):
    """What a CI gate can fail on (``watcher status --fail-on``)."""

    REBUILD = "rebuild"
    NEWER = "newer"
    FAILING = "failing"


# ``--exit-code`` alone fails on all of them.
DEFAULT_FAIL_ON = frozenset(Concern)


def parse_fail_on(text: str) -> frozenset[Concern]:
    """``rebuild,newer,failing`` (any of them, comma separated) -> the set; ValueError else."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("empty: name at least one of rebuild, newer, failing")
    unknown = [name for name in names if name not in {c.value for c in Concern}]
    if unknown:
        raise ValueError(
            f"unknown {', '.join(repr(n) for n in unknown)}: choose from rebuild, newer, failing"
        )
    return frozenset(Concern(name) for name in names)


def unacknowledged_newer(state: ImageState) -> tuple[str, ...]:
    """The newer tags on offer that the user has not acknowledged (``watcher ack``).

    Acknowledging is per version: when a still newer tag appears it is on offer again.
    """
    offered = [
        tag
        for tag, acknowledged in (
            (state.newer.same_line, state.acknowledged_same_line),
            (state.newer.newest, state.acknowledged_newest),
        )
        if tag and tag != acknowledged
    ]
    return tuple(dict.fromkeys(offered))


def concerns(state: ImageState, pending: Iterable[EventKind] = ()) -> frozenset[Concern]:
    """Everything about the image a CI gate may fail on, not only the most urgent."""
    found = set()
    if REBUILD_KINDS.intersection(pending):
        found.add(Concern.REBUILD)
    if state.failing:
        found.add(Concern.FAILING)
    if state.seen and unacknowledged_newer(state):
        found.add(Concern.NEWER)
    return frozenset(found)


def attention(state: ImageState, pending: Iterable[EventKind] = ()) -> Attention:
    """Pending rebuild events first, then failures, then newer versions not acknowledged."""
    return attention_of(state, concerns(state, pending))


def attention_of(state: ImageState, found: frozenset[Concern]) -> Attention:
    """:func:`attention` from the image's :func:`concerns`, already worked out."""
    if Concern.REBUILD in found:
        return Attention.REBUILD_NEEDED
    if Concern.FAILING in found:
        return Attention.FAILING
    if not state.seen:
        return Attention.NOT_CHECKED
    if Concern.NEWER in found:
        return Attention.NEWER_VERSION
    return Attention.UP_TO_DATE
