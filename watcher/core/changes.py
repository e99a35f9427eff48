"""Change detection: a pure function from (stored state, new observation) to events.

Nothing here does I/O. The caller stores ``CheckDecision.state``, appends
``CheckDecision.history`` and records ``CheckDecision.events`` in ONE transaction, so a crash
either keeps all of a check or none of it. Event ids are derived from the image, the kind and
the image's change counter, so a check repeated after a crash yields the same ids and a store
that ignores duplicate ids emits each event exactly once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from watcher.core.events import (
    DigestChanged,
    EventPayload,
    FirstSeen,
    NewVersion,
    TagRemoved,
    payload_data,
)
from watcher.core.events import Event as Event  # re-exported
from watcher.core.events import EventKind as EventKind  # re-exported
from watcher.core.observation import ManifestObservation
from watcher.core.platform import changed_platforms as changed_platforms  # re-exported
from watcher.core.platform import missing_platforms
from watcher.core.tags import TagPolicy, rank_tags


class CheckState(StrEnum):
    """What one check of one image found."""

    BASELINE = "baseline"
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    ERROR = "error"


class HistoryKind(StrEnum):
    """Rows of an image's history: only checks that changed something add one."""

    BASELINE = "baseline"
    DIGEST_CHANGED = "digest_changed"
    INDEX_CHANGED = "index_changed"
    NEW_VERSION = "new_version"
    TAG_REMOVED = "tag_removed"
    TAG_RESTORED = "tag_restored"
    FAILING = "failing"
    RECOVERED = "recovered"
    # A change announced to no channel: it was undone inside a soak window (data: the event
    # id, the channels, and why). Written by the outbox, not by the change rules.
    NOTICE_WITHHELD = "notice_withheld"


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class NewerVersions:
    """The tag orderer's answers for an image: newest on the same line, newest overall."""

    same_line: str | None = None
    newest: str | None = None


@dataclass(frozen=True)
class ImageState:
    """Everything remembered about one tracked image between checks."""

    ref: str
    digest: str | None = None
    media_type: str | None = None
    platforms: Mapping[str, str] = field(default_factory=_empty)
    newer: NewerVersions = NewerVersions()
    reported_same_line: str | None = None
    reported_newest: str | None = None
    tags_fingerprint: str | None = None
    removed: bool = False
    changes: int = 0
    last_changed_at: datetime | None = None
    last_checked_at: datetime | None = None
    last_error: str | None = None
    last_error_status: int | None = None
    failing_since: datetime | None = None
    failure_count: int = 0
    # Configured platforms the image's index does not have at all (as spelled in the config).
    missing_platforms: tuple[str, ...] = ()
    # Why the last tag listing failed; None when it succeeded or was not wanted.
    tags_error: str | None = None
    # The newer tags the user acknowledged (``watcher ack``): not "newer version" any more.
    acknowledged_same_line: str | None = None
    acknowledged_newest: str | None = None

    @property
    def seen(self) -> bool:
        """True once a check has succeeded (a baseline exists)."""
        return self.digest is not None

    @property
    def failing(self) -> bool:
        return self.failure_count > 0

    @property
    def removal_suspected(self) -> bool:
        """The last check answered "not found" once: a second one reports the removal."""
        return self.failing and self.last_error_status == 404 and self.seen and not self.removed


@dataclass(frozen=True)
class Observation:
    """The outcome of one check: a manifest (or why there is none) and the newer-tag answers.

    ``newer`` is None when tags were not listed or listing failed: the previous answer stands;
    ``tags_error`` says why listing failed.
    """

    checked_at: datetime
    manifest: ManifestObservation | None = None
    newer: NewerVersions | None = None
    tags_fingerprint: str | None = None
    error: str | None = None
    error_status: int | None = None
    not_found: bool = False
    tags_error: str | None = None
    explanation: Mapping[str, Any] | None = None  # what changed inside, when it moved


@dataclass(frozen=True)
class WatchPolicy:
    """Per-image settings that change what counts as an event."""

    platforms: frozenset[str] | None = None
    notify_on_first_check: bool = False
    tags: TagPolicy = field(default_factory=TagPolicy)


@dataclass(frozen=True)
class HistoryEntry:
    ref: str
    at: datetime
    kind: HistoryKind
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckDecision:
    state: CheckState
    image: ImageState
    history: tuple[HistoryEntry, ...] = ()
    events: tuple[Event, ...] = ()


def event_id(ref: str, kind: EventKind, generation: int, key: str) -> str:
    """A stable id: the same check repeated after a crash yields the same id."""
    raw = f"{ref}\x00{kind.value}\x00{generation}\x00{key}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def superseded(current: ImageState, observation: Observation) -> bool:
    """True when the stored state comes from a later look than ``observation``.

    Another writer (the daemon beside a ``watcher check``) recorded a newer answer for the
    image while this observation was on its way: deciding it now would report the tag moving
    back to what it pointed to before, so it is dropped.
    """
    last = current.last_checked_at
    return last is not None and observation.checked_at < last


def decide(
    previous: ImageState, observation: Observation, policy: WatchPolicy = WatchPolicy()
) -> CheckDecision:
    """Turn one observation into the new state, history rows and events for an image."""
    old = previous
    if observation.not_found:
        return _tag_missing(old, observation)
    if observation.manifest is None:
        return _failed(old, observation)
    return _observed(old, observation, observation.manifest, policy)


def _checked(old: ImageState, at: datetime) -> ImageState:
    return replace(old, last_checked_at=at)


def _failed(old: ImageState, obs: Observation) -> CheckDecision:
    """A failed check never erases the last good state and emits no change event."""
    at = obs.checked_at
    history: tuple[HistoryEntry, ...] = ()
    image = replace(
        _checked(old, at),
        last_error=obs.error or "check failed",
        last_error_status=obs.error_status,
        failure_count=old.failure_count + 1,
        failing_since=old.failing_since or at,
    )
    if not old.failing:
        history = (
            HistoryEntry(
                old.ref,
                at,
                HistoryKind.FAILING,
                {"error": image.last_error, "status": obs.error_status},
            ),
        )
        image = replace(image, changes=old.changes + 1)
    return CheckDecision(CheckState.ERROR, image, history)


def _tag_missing(old: ImageState, obs: Observation) -> CheckDecision:
    """Two 404s in a row after the tag was seen are ``tag_removed``, once.

    The first 404 is a failed check only: a registry that briefly serves empty storage must
    not report every tag removed. Before the tag was ever seen a 404 is an error.
    """
    if old.removed:
        # Still gone: already reported; count it as a failing check without new rows.
        image = replace(_failed(old, obs).image, changes=old.changes)
        return CheckDecision(CheckState.ERROR, image)
    if not old.removal_suspected:
        # Never seen, or the first "not found": a failed check; the next one decides.
        decision = _failed(old, obs)
        image = replace(decision.image, last_error_status=obs.error_status or 404)
        return CheckDecision(CheckState.ERROR, image, decision.history)
    at = obs.checked_at
    generation = old.changes + 1
    payload = TagRemoved(old.digest)
    image = replace(
        _checked(old, at),
        removed=True,
        changes=generation,
        last_changed_at=at,
        last_error=obs.error or "tag not found",
        last_error_status=obs.error_status or 404,
        failure_count=old.failure_count + 1,
        failing_since=old.failing_since or at,
    )
    event = Event(
        event_id(old.ref, EventKind.TAG_REMOVED, generation, old.digest or ""),
        old.ref,
        at,
        payload,
    )
    history = (HistoryEntry(old.ref, at, HistoryKind.TAG_REMOVED, payload_data(payload)),)
    return CheckDecision(CheckState.CHANGED, image, history, (event,))


def _observed(
    old: ImageState, obs: Observation, manifest: ManifestObservation, policy: WatchPolicy
) -> CheckDecision:
    at = obs.checked_at
    history: list[HistoryEntry] = []
    events: list[Event] = []
    generation = old.changes

    def add(kind: HistoryKind, data: Mapping[str, Any], key: str = "") -> None:
        nonlocal generation
        generation += 1
        history.append(HistoryEntry(old.ref, at, kind, data))

    def emit(kind: HistoryKind, payload: EventPayload, key: str, notify: bool = True) -> None:
        """A history row holding the payload's data and, when ``notify``, the event."""
        add(kind, payload_data(payload))
        if notify:
            events.append(
                Event(event_id(old.ref, payload.kind, generation, key), old.ref, at, payload)
            )

    newer = obs.newer if obs.newer is not None else old.newer
    image = replace(
        _checked(old, at),
        media_type=manifest.media_type,
        newer=newer,
        tags_fingerprint=obs.tags_fingerprint or old.tags_fingerprint,
        last_error=None,
        last_error_status=None,
        failure_count=0,
        failing_since=None,
        removed=False,
        missing_platforms=tuple(missing_platforms(policy.platforms, manifest.platforms)),
        tags_error=obs.tags_error,
    )

    if old.failing:
        add(
            HistoryKind.RECOVERED,
            {"failures": old.failure_count, "since": _iso(old.failing_since)},
        )
    if old.removed:
        add(HistoryKind.TAG_RESTORED, {"digest": manifest.digest})

    state = CheckState.UNCHANGED
    if not old.seen:
        state = CheckState.BASELINE
        emit(
            HistoryKind.BASELINE,
            FirstSeen(manifest.digest, manifest.platforms),
            manifest.digest,
            notify=policy.notify_on_first_check,
        )
        image = replace(
            image, digest=manifest.digest, platforms=manifest.platforms, last_changed_at=at
        )
    elif manifest.digest != old.digest:
        image = replace(image, digest=manifest.digest, platforms=manifest.platforms)
        moved = {"old_digest": old.digest, "new_digest": manifest.digest}
        platforms = changed_platforms(old.platforms, manifest.platforms, policy.platforms)
        both_indexes = bool(old.platforms and manifest.platforms)
        if both_indexes and not changed_platforms(old.platforms, manifest.platforms):
            # The index moved but no platform's image did (attestations added or rebuilt,
            # annotations, the same list re-serialised or re-pushed): nothing to rebuild.
            add(HistoryKind.INDEX_CHANGED, moved)
        elif platforms or policy.platforms is None or not both_indexes:
            state = CheckState.CHANGED
            emit(
                HistoryKind.DIGEST_CHANGED,
                DigestChanged(old.digest, manifest.digest, platforms, obs.explanation),
                f"{old.digest}>{manifest.digest}",
            )
            image = replace(image, last_changed_at=at)
        else:
            # Only platforms the user does not watch moved: remember the new digests silently.
            add(
                HistoryKind.DIGEST_CHANGED,
                {**moved, "changed_platforms": {}, "unwatched_only": True},
            )

    reported_same, reported_newest = old.reported_same_line, old.reported_newest
    first_listing = old.tags_fingerprint is None and obs.tags_fingerprint is not None
    if not old.seen or first_listing:
        # The baseline's answers are what the user already knows about; report only later ones.
        # When the baseline could not list tags, the first listing that succeeds is the baseline.
        reported_same, reported_newest = newer.same_line, newer.newest
    else:
        same = _advance(newer.same_line, reported_same, policy.tags)
        newest = _advance(newer.newest, reported_newest, policy.tags)
        fresh = sorted(
            {t for t in (same, newest) if t and t not in (reported_same, reported_newest)}
        )
        if fresh:
            state = CheckState.CHANGED
            emit(
                HistoryKind.NEW_VERSION,
                NewVersion(newer.same_line, newer.newest, tuple(fresh)),
                ",".join(fresh),
            )
            image = replace(image, last_changed_at=at)
        reported_same = same or reported_same
        reported_newest = newest or reported_newest

    image = replace(
        image, reported_same_line=reported_same, reported_newest=reported_newest, changes=generation
    )
    return CheckDecision(state, image, tuple(history), tuple(events))


def _advance(answer: str | None, reported: str | None, policy: TagPolicy) -> str | None:
    """``answer`` when it is newer than the last reported tag, else None.

    Comparing by tag order, not by inequality, means a tag deleted from the registry (the
    answer falls back to an older tag) is not reported again as if it were new.
    """
    if answer is None or answer == reported:
        return None
    if reported is None:
        return answer
    ranked = rank_tags(reported, [answer], policy)
    return answer if answer in (ranked.same_line, ranked.newest) else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
