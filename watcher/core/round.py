"""Rules over a whole check round, beyond one image: pure, no I/O."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from watcher.core.changes import ImageState, Observation


@dataclass(frozen=True)
class RoundItem:
    """One image of a round: its registry, the state it was checked from, what was seen."""

    ref: str
    registry: str
    previous: ImageState | None
    observation: Observation


def tracked(previous: ImageState | None) -> bool:
    """A tag that was seen and is not known to be gone: a "not found" would remove it."""
    return previous is not None and previous.seen and not previous.removed


def vanished_registries(items: Sequence[RoundItem]) -> Mapping[str, int]:
    """Registries where every tracked tag (two or more) answered "not found" in this round,
    with how many: that registry is failing (empty or misconfigured storage), no tag was
    removed."""
    known = Counter(item.registry for item in items if tracked(item.previous))
    missing = Counter(
        item.registry
        for item in items
        if tracked(item.previous) and item.observation.not_found
    )
    return {host: count for host, count in missing.items() if count >= 2 and count == known[host]}


def registry_failed(item: RoundItem, count: int) -> Observation:
    """``item``'s "not found" as the failure of its whole registry, not a removed tag."""
    host = item.registry
    return Observation(
        item.observation.checked_at,
        error=(
            f"{item.ref} on {host}: every tracked tag of {host} ({count}) answered "
            '"not found" in one round; treated as the registry failing (empty or '
            "misconfigured storage?), not as removed tags"
        ),
    )
