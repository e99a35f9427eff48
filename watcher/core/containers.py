"""Containers on an engine, as rules: which image each one makes watcher track, and whether
it runs what its tag points to now.

A container is **stale** when the tag it was created from now points, for the container's
own platform, to a digest other than the one it runs: an index whose other platforms moved
leaves it current. A container created from a digest is tracked by that digest and never
stale by a tag's move. An image with no repository digest (built or loaded locally) has
nothing to compare with: the container is skipped, with that reason.

Labels, as Diun and What's Up Docker spell them: ``watcher.enable`` (``false`` skips a
container; with an engine's ``labelled_only`` only ``true`` ones count),
``watcher.tag.include``, ``watcher.tag.exclude`` (the tag policy's patterns) and
``watcher.platforms`` (comma separated: the platforms watched).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from watcher.core.changes import HistoryEntry, HistoryKind
from watcher.core.platform import normalize_platform, normalize_platforms
from watcher.core.reference import ImageReference, parse_reference
from watcher.core.tags import TagPolicy
from watcher.errors import InvalidReference

LABEL_ENABLE = "watcher.enable"
LABEL_INCLUDE = "watcher.tag.include"
LABEL_EXCLUDE = "watcher.tag.exclude"
LABEL_PLATFORMS = "watcher.platforms"
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
# Podman names images it built or committed itself localhost/NAME: no registry has them.
LOCAL_REGISTRY = "localhost"


@dataclass(frozen=True)
class ContainerInfo:
    """What an engine says of one container and its image."""

    id: str
    name: str
    image: str  # the reference it was created from, as the engine reports it
    image_id: str
    state: str  # running, created, exited, ...
    labels: Mapping[str, str] = field(default_factory=dict)
    repo_digests: tuple[str, ...] = ()  # "HOST/NAME@sha256:...", as the engine lists them
    platform: str | None = None  # its image's os/arch[/variant]
    created_at: datetime | None = None
    started_at: datetime | None = None  # None when it never ran


@dataclass(frozen=True)
class WatchedContainer:
    """A container whose image watcher tracks: ``ref`` (by tag, or by digest when pinned)."""

    container: ContainerInfo
    ref: ImageReference
    running: tuple[str, ...]  # the digests of ``ref``'s repository its image has
    platforms: frozenset[str] | None = None  # watcher.platforms
    include: str | None = None  # watcher.tag.include
    exclude: str | None = None  # watcher.tag.exclude

    @property
    def pinned(self) -> bool:
        return self.ref.digest is not None


@dataclass(frozen=True)
class SkippedContainer:
    container: ContainerInfo
    reason: str


def classify(container: ContainerInfo, *, labelled_only: bool = False
             ) -> WatchedContainer | SkippedContainer:
    """Which image ``container`` makes watcher track, or why it is skipped."""
    labels = container.labels
    enable = labels.get(LABEL_ENABLE)
    if enable is not None and enable.strip().lower() not in (*_TRUE, *_FALSE):
        return SkippedContainer(container, f"label {LABEL_ENABLE}={enable!r} is neither true "
                                           "nor false")
    if enable is not None and enable.strip().lower() in _FALSE:
        return SkippedContainer(container, f"label {LABEL_ENABLE}={enable}")
    if labelled_only and enable is None:
        return SkippedContainer(container, f"the engine watches only containers labelled "
                                           f"{LABEL_ENABLE}=true")
    try:
        platforms = _platforms(labels.get(LABEL_PLATFORMS))
        include, exclude = labels.get(LABEL_INCLUDE), labels.get(LABEL_EXCLUDE)
        TagPolicy(include=include, exclude=exclude)
    except ValueError as exc:
        text = str(exc).replace("include:", f"{LABEL_INCLUDE}:", 1)
        text = text.replace("exclude:", f"{LABEL_EXCLUDE}:", 1)
        return SkippedContainer(container, f"invalid label {text}")
    ref, problem = _reference(container)
    if ref is None:
        return SkippedContainer(container, problem)
    if ref.registry == LOCAL_REGISTRY:
        return SkippedContainer(container, f"{ref} is a local image (built or committed on the "
                                           "host): no registry to compare with")
    running = running_digests(ref, container.repo_digests)
    if ref.digest is None and not running:
        return SkippedContainer(container, f"its image {_short_id(container.image_id)} has no "
                                           f"repository digest for {ref.name} (built or loaded "
                                           "locally, never pulled or pushed)")
    return WatchedContainer(container, ref, running, platforms, include, exclude)


def running_digests(ref: ImageReference, repo_digests: Iterable[str]) -> tuple[str, ...]:
    """The digests among ``repo_digests`` that belong to ``ref``'s repository."""
    found = []
    for text in repo_digests:
        try:
            parsed = parse_reference(text)
        except InvalidReference:
            continue
        same = (parsed.registry, parsed.repository) == (ref.registry, ref.repository)
        if same and parsed.digest and parsed.digest not in found:
            found.append(parsed.digest)
    return tuple(found)


def _reference(container: ContainerInfo) -> tuple[ImageReference | None, str]:
    """The reference to track: as created, or (created from an image ID) its one repository
    digest."""
    text = container.image.strip()
    if text.startswith("sha256:") or text == container.image_id or _is_id(text):
        parsed = []
        for digest_ref in container.repo_digests:
            try:
                parsed.append(parse_reference(digest_ref))
            except InvalidReference:
                continue
        names = {(p.registry, p.repository) for p in parsed}
        if len(names) != 1:
            why = "no repository digest" if not names else "digests of several repositories"
            return None, f"created from image ID {_short_id(text)}, which has {why}"
        return parsed[0], ""
    try:
        return parse_reference(text), ""
    except InvalidReference as exc:
        return None, exc.message


def _is_id(text: str) -> bool:
    return len(text) in (12, 64) and all(c in "0123456789abcdef" for c in text)


def _short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def _platforms(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    wanted = [p.strip() for p in text.split(",") if p.strip()]
    for platform in wanted:
        parts = platform.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"{LABEL_PLATFORMS}: {platform!r} is not os/arch[/variant]")
    if not wanted:
        raise ValueError(f"{LABEL_PLATFORMS} is empty")
    return frozenset(normalize_platform(p) for p in wanted)


# -- is a container current? ----------------------------------------------------------------


class Freshness(enum.StrEnum):
    CURRENT = "current"  # runs what its tag points to now (for its platform)
    STALE = "stale"  # its tag now points to another digest
    PINNED = "pinned"  # created from a digest: no tag to follow
    UNKNOWN = "unknown"  # its image was not checked yet, or its check failed


@dataclass(frozen=True)
class Verdict:
    freshness: Freshness
    running: str | None  # the digest it runs (its platform's image where known)
    current: str | None  # the digest its tag points to now (its platform's where known)
    reason: str


def judge(
    *,
    running: Sequence[str],
    platform: str | None,
    platform_digest: str | None,
    pinned: str | None,
    tag_digest: str | None,
    tag_platforms: Mapping[str, str],
) -> Verdict:
    """Compare what a container runs with what its tag points to now.

    ``running``: its image's repository digests (an index's and, as Podman records them, its
    platform's image's too); ``platform_digest``: its platform's image in the index it was
    pulled from, when known; ``tag_digest`` / ``tag_platforms``: the tag's current digest and,
    for an index, each platform's image.
    """
    ran = platform_digest or (running[0] if running else None)
    if pinned is not None:
        return Verdict(Freshness.PINNED, pinned, pinned, "created from a digest")
    if tag_digest is None:
        return Verdict(Freshness.UNKNOWN, ran, None, "its image was not checked yet")
    platforms = normalize_platforms(tag_platforms)
    wanted = normalize_platform(platform) if platform else None
    now = platforms.get(wanted) if wanted else None
    if tag_digest in running:  # its platform's image of the index, where there is one
        return Verdict(Freshness.CURRENT, now or tag_digest, now or tag_digest,
                       "runs what its tag points to")
    if not tag_platforms:
        return Verdict(Freshness.STALE, ran, tag_digest, "its tag points to another image")
    if wanted is None or now is None:
        what = f"no image for {wanted}" if wanted else "no image for its (unknown) platform"
        return Verdict(Freshness.STALE, ran, tag_digest, f"its tag now points to an index "
                                                         f"with {what}")
    if now in running or now == platform_digest:
        return Verdict(Freshness.CURRENT, now, now,
                       f"its tag moved, but not for {wanted}")
    if platform_digest is None and len(running) < 2:
        # Docker records only the index it pulled: which image of it runs must be read from
        # the registry (see ``platform_digest``); without it, no guess.
        return Verdict(Freshness.UNKNOWN, ran, now,
                       f"cannot tell which image of its index it runs for {wanted}")
    return Verdict(Freshness.STALE, platform_digest or ran, now,
                   f"its tag now points to another image for {wanted}")


def stale_since(history: Sequence[HistoryEntry], running: Sequence[str],
                platform: str | None) -> datetime | None:
    """Since when a stale container's tag points away from what it runs, for its platform:
    the first move of that platform after the last time the tag pointed to one of the
    ``running`` digests (the baseline counts). None when the history does not tell."""
    wanted = normalize_platform(platform) if platform else None
    since: datetime | None = None
    for entry in history:
        data = entry.data
        if entry.kind is HistoryKind.BASELINE and data.get("digest") in running:
            since = None
        elif entry.kind is HistoryKind.DIGEST_CHANGED:
            if data.get("new_digest") in running:
                since = None
                continue
            changed = data.get("changed_platforms") or {}
            moved = {normalize_platform(str(p)) for p in changed}
            mine = (not changed and not data.get("unwatched_only")) or (wanted in moved)
            if mine and since is None:
                since = entry.at
    return since
