"""Delivery rules: which channel gets which event, when, and how often it is tried again.

Pure: the store applies these rules when it records events (one delivery row per event and
matching route, soak supersede) and the delivery worker when it retries.

- A :class:`Route` is one configured channel's subscription: event kinds, image globs and
  change classes.
- :func:`effective_soak`: the channel's soak window if set, else the image's, else the global.
- :func:`backoff`: exponential with full jitter, 30 s base, capped at one hour; a
  ``Retry-After`` the channel was given wins when larger.
- :func:`supersede_digest` and :func:`supersede_versions`: the soak window's rules. A change
  still soaking when a newer one arrives is replaced by the net change; a tag that moves back
  (or a newer version that disappears again) within the window delivers nothing.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from watcher.core.events import DigestChanged, Event, EventKind, NewVersion, short_digest
from watcher.core.rebuild import classes_of

BACKOFF_BASE = 30.0
BACKOFF_CAP = 3600.0
DEFAULT_RETRY_FOR = 24 * 3600.0


@dataclass(frozen=True)
class Route:
    """One configured channel's subscription.

    ``kinds=None``: every kind. ``images=()``: every image, else fnmatch-style globs matched
    against the canonical reference (``docker.io/library/python:3.12``) and the short form a
    user writes (``python:3.12``). ``soak=None``: the image's or the global soak window.
    ``classes=None``: every digest change; else only those whose explanation's classes
    (``rebuild``, ``patch``, ``minor``, ``major``, ``pre-release``, ``rebase``) meet these.
    A change that could not be explained has no class and is delivered all the same (a
    moved base is never dropped for want of words); other kinds are not filtered by class.
    """

    channel: str
    kinds: frozenset[EventKind] | None = None
    images: tuple[str, ...] = ()
    soak: float | None = None
    retry_for: float = DEFAULT_RETRY_FOR
    grouped: bool = True
    classes: frozenset[str] | None = None

    def matches(self, event: Event) -> bool:
        if self.kinds is not None and event.kind not in self.kinds:
            return False
        if self.classes is not None and isinstance(event.payload, DigestChanged):
            found = classes_of(event.payload.explanation)
            if found and not self.classes.intersection(found):
                return False
        if not self.images:
            return True
        names = spellings(event.ref)
        return any(fnmatch.fnmatchcase(name, glob) for glob in self.images for name in names)


def spellings(ref: str) -> tuple[str, ...]:
    """The canonical reference and the shorter forms a user writes for it.

    ``docker.io/library/python:3.12`` -> also ``library/python:3.12`` and ``python:3.12``;
    ``docker.io/acme/app:1`` -> also ``acme/app:1``.
    """
    names = [ref]
    if ref.startswith("docker.io/"):
        rest = ref[len("docker.io/"):]
        names.append(rest)
        if rest.startswith("library/"):
            names.append(rest[len("library/"):])
    return tuple(names)


def routes_for(event: Event, routes: Iterable[Route]) -> list[Route]:
    """The routes (channels) that subscribe to ``event``, in the order given."""
    return [route for route in routes if route.matches(event)]


def effective_soak(route: Route, image_soak: float | None, global_soak: float) -> float:
    """The channel's soak window if set, else the image's, else the global one (seconds)."""
    if route.soak is not None:
        return route.soak
    if image_soak is not None:
        return image_soak
    return global_soak


def backoff(attempts: int, rng: random.Random, retry_after: float | None = None) -> float:
    """Seconds to wait before the next try after ``attempts`` failed ones (1 = first failure).

    Full jitter: uniform in [0, min(cap, base * 2**(attempts-1))]. ``retry_after`` (what the
    receiver asked for) wins when it is larger.
    """
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, min(attempts - 1, 32)))
    delay = rng.uniform(0.0, ceiling)
    if retry_after is not None and retry_after > delay:
        return retry_after
    return delay


@dataclass(frozen=True)
class Soaking:
    """An undelivered delivery whose event is still inside its soak window."""

    delivery_id: int
    event: Event


@dataclass(frozen=True)
class SoakDecision:
    """What recording a new event does to the deliveries still soaking for its image.

    ``superseded``: delivery ids replaced, each with the note saying why. ``deliver``: the
    event to deliver (the net change), or None when nothing is left to tell
    (``note`` then says why, for the new event's own row).
    """

    superseded: tuple[int, ...]
    deliver: Event | None
    note: str | None = None


def supersede_digest(soaking: Sequence[Soaking], new: Event) -> SoakDecision:
    """A new ``digest_changed`` event against the image's still-soaking ones.

    Nothing soaking: deliver ``new`` as it is. Otherwise every soaking one is superseded and
    ``new`` is delivered as the net change: the oldest one's old digest -> the newest digest,
    the changed platforms merged. When the tag is back at the digest it had before the first
    soaking change, nothing is delivered.
    """
    if not isinstance(new.payload, DigestChanged):
        raise ValueError(f"supersede_digest needs a digest_changed event, not {new.kind}")
    earlier = sorted(
        (s for s in soaking if isinstance(s.event.payload, DigestChanged)),
        key=lambda s: (s.event.created_at, s.delivery_id),
    )
    if not earlier:
        return SoakDecision((), new)
    ids = tuple(s.delivery_id for s in earlier)
    first = earlier[0].event.payload
    assert isinstance(first, DigestChanged)
    if first.old_digest is not None and first.old_digest == new.payload.new_digest:
        note = (
            f"tag moved back to {short_digest(first.old_digest)} within the soak window: "
            "nothing changed"
        )
        return SoakDecision(ids, None, note)
    platforms: dict[str, str | None] = {}
    for payload in [s.event.payload for s in earlier] + [new.payload]:
        assert isinstance(payload, DigestChanged)
        for platform, how in payload.changed_platforms.items():
            if platform in platforms and platforms[platform] is None:
                platforms[platform] = how  # back and forth, then changed again
            else:
                platforms[platform] = _merge_platform(platforms.get(platform), how)
    net = DigestChanged(first.old_digest, new.payload.new_digest, _without_none(platforms),
                        new.payload.explanation)
    note = f"superseded by {new.id}: the tag moved again within the soak window"
    return SoakDecision(ids, replace(new, payload=net), note)


def supersede_versions(
    soaking: Sequence[Soaking], new: Event | None, offered: Iterable[str | None]
) -> SoakDecision:
    """``new_version`` events still soaking against what is on offer now.

    ``offered``: the image's newer-version answers after this check (same line, newest).
    With a ``new`` event, the soaking ones are superseded and ``new`` is delivered with the
    tags they announced that are still on offer. Without, a soaking event none of whose
    tags is on offer any more (the newer version disappeared again) is superseded.
    """
    on_offer = {tag for tag in offered if tag}
    earlier = sorted(
        (s for s in soaking if isinstance(s.event.payload, NewVersion)),
        key=lambda s: (s.event.created_at, s.delivery_id),
    )
    if new is not None:
        if not isinstance(new.payload, NewVersion):
            raise ValueError(f"supersede_versions needs a new_version event, not {new.kind}")
        if not earlier:
            return SoakDecision((), new)
        tags: list[str] = []
        for s in earlier:
            assert isinstance(s.event.payload, NewVersion)
            tags.extend(tag for tag in s.event.payload.new if tag in on_offer)
        tags.extend(new.payload.new)
        merged = replace(new.payload, new=tuple(dict.fromkeys(tags)))
        note = f"superseded by {new.id}: newer versions changed again within the soak window"
        return SoakDecision(tuple(s.delivery_id for s in earlier), replace(new, payload=merged),
                            note)
    gone: list[int] = []
    gone_tags: list[str] = []
    for s in earlier:
        assert isinstance(s.event.payload, NewVersion)
        if not any(tag in on_offer for tag in s.event.payload.new):
            gone.append(s.delivery_id)
            gone_tags.extend(s.event.payload.new)
    if not gone:
        return SoakDecision((), None)
    listed = ", ".join(dict.fromkeys(gone_tags)) or "the newer version"
    note = f"{listed} disappeared again within the soak window: nothing to tell"
    return SoakDecision(tuple(gone), None, note)


def _merge_platform(before: str | None, now: str) -> str | None:
    """One platform's net change over two moves (None: no net change)."""
    if before is None:
        return now
    if before == "added":
        return None if now == "removed" else "added"
    if before == "removed":
        return "changed" if now == "added" else "removed"
    return now  # changed, then changed/removed


def _without_none(platforms: Mapping[str, str | None]) -> dict[str, str]:
    return {platform: how for platform, how in platforms.items() if how is not None}


__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "DEFAULT_RETRY_FOR",
    "Route",
    "SoakDecision",
    "Soaking",
    "backoff",
    "effective_soak",
    "routes_for",
    "spellings",
    "supersede_digest",
    "supersede_versions",
]
