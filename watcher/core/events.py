"""Events: what a user is told about, one typed payload per kind.

Every reader and writer of events goes through this module: the change detection builds the
payloads, the store keeps them as JSON with :func:`payload_data` and reads them back with
:func:`payload_from_data`, and every front end words them with :func:`describe_event`. The
JSON is what watcher has always stored (and what ``watcher check --json`` prints with the
event), so databases written before the payloads were typed read back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from watcher.core.explain import describe_explanation


class EventKind(StrEnum):
    """Things a user is told about."""

    DIGEST_CHANGED = "digest_changed"
    NEW_VERSION = "new_version"
    TAG_REMOVED = "tag_removed"
    FIRST_SEEN = "first_seen"

    @property
    def label(self) -> str:
        """The kind for people: ``digest changed``."""
        return self.value.replace("_", " ")


def _frozen(value: Mapping[str, str] | None) -> Mapping[str, str]:
    """A read-only copy (kept as it is when it is read-only already)."""
    if isinstance(value, MappingProxyType):
        return value
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class DigestChanged:
    """The tag points to another manifest.

    ``changed_platforms``: platform -> ``added``, ``removed`` or ``changed``.
    """

    old_digest: str | None
    new_digest: str
    changed_platforms: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    # What changed inside, from the old and new image configs (core.explain), when known.
    explanation: Mapping[str, Any] | None = None

    kind = EventKind.DIGEST_CHANGED

    def __post_init__(self) -> None:
        object.__setattr__(self, "changed_platforms", _frozen(self.changed_platforms))


@dataclass(frozen=True)
class NewVersion:
    """Newer tags on offer: the answers now, and the tags reported for the first time."""

    same_line: str | None
    newest: str | None
    new: tuple[str, ...]

    kind = EventKind.NEW_VERSION


@dataclass(frozen=True)
class TagRemoved:
    """The tag no longer exists; ``tag_digest`` is what it pointed to before."""

    tag_digest: str | None

    kind = EventKind.TAG_REMOVED


@dataclass(frozen=True)
class FirstSeen:
    """The image's first successful check (only with ``notify_on_first_check``)."""

    digest: str
    platforms: Mapping[str, str] = field(default_factory=lambda: _frozen(None))

    kind = EventKind.FIRST_SEEN

    def __post_init__(self) -> None:
        object.__setattr__(self, "platforms", _frozen(self.platforms))


EventPayload = DigestChanged | NewVersion | TagRemoved | FirstSeen


@dataclass(frozen=True)
class Event:
    """One thing to tell a user, with a stable id (see ``changes.event_id``)."""

    id: str
    ref: str
    created_at: datetime
    payload: EventPayload

    @property
    def kind(self) -> EventKind:
        return self.payload.kind

    @property
    def data(self) -> dict[str, Any]:
        """The payload as stored and as printed in JSON documents."""
        return payload_data(self.payload)


def payload_data(payload: EventPayload) -> dict[str, Any]:
    """The JSON object stored for ``payload`` (the fields docs/cli.md lists per kind)."""
    match payload:
        case DigestChanged():
            data = {
                "old_digest": payload.old_digest,
                "new_digest": payload.new_digest,
                "changed_platforms": dict(payload.changed_platforms),
            }
            if payload.explanation is not None:
                data["explanation"] = dict(payload.explanation)
            return data
        case NewVersion():
            return {
                "same_line": payload.same_line,
                "newest": payload.newest,
                "new": list(payload.new),
            }
        case TagRemoved():
            return {"tag_digest": payload.tag_digest}
        case FirstSeen():
            return {"digest": payload.digest, "platforms": dict(payload.platforms)}


def payload_from_data(kind: EventKind | str, data: Mapping[str, Any] | None) -> EventPayload:
    """The payload of a stored event. Missing fields read as empty: old rows stay readable."""
    try:
        read = _READERS[kind]
    except KeyError:
        raise ValueError(f"{kind!r} is not an event kind") from None
    return read(data or {})


# ``statuses()`` reads thousands of events: the JSON's own dicts are wrapped, not copied.
def _digest_changed(data: Mapping[str, Any]) -> DigestChanged:
    return DigestChanged(
        old_digest=data.get("old_digest"),
        new_digest=data.get("new_digest") or "",
        changed_platforms=MappingProxyType(data.get("changed_platforms") or {}),
        explanation=data.get("explanation") if isinstance(data.get("explanation"), dict)
        else None,
    )


def _new_version(data: Mapping[str, Any]) -> NewVersion:
    return NewVersion(data.get("same_line"), data.get("newest"), tuple(data.get("new") or ()))


def _tag_removed(data: Mapping[str, Any]) -> TagRemoved:
    return TagRemoved(tag_digest=data.get("tag_digest"))


def _first_seen(data: Mapping[str, Any]) -> FirstSeen:
    return FirstSeen(
        digest=data.get("digest") or "",
        platforms=MappingProxyType(data.get("platforms") or {}),
    )


# Keyed by the kind; a kind's string finds the same entry.
_READERS: dict[str, Callable[[Mapping[str, Any]], EventPayload]] = {
    EventKind.DIGEST_CHANGED: _digest_changed,
    EventKind.NEW_VERSION: _new_version,
    EventKind.TAG_REMOVED: _tag_removed,
    EventKind.FIRST_SEEN: _first_seen,
}


def short_digest(digest: str | None) -> str:
    """``sha256:`` and 12 hex digits; ``-`` for none."""
    if not digest:
        return "-"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest[:19]


def describe_changed_platforms(platforms: Mapping[str, str]) -> str:
    """``linux/amd64 changed, linux/arm64/v8 added`` (in the order the check found them)."""
    return ", ".join(f"{platform} {how}" for platform, how in platforms.items())


def describe_event(payload: EventPayload, when: str | None = None) -> str:
    """What happened, for people: the one wording of an event every front end uses.

    ``when`` (``2h ago``) is worded in where it reads naturally, for lists of past events.
    """
    at = f" {when}" if when else ""
    match payload:
        case DigestChanged():
            text = f"{short_digest(payload.old_digest)} -> {short_digest(payload.new_digest)}"
            platforms = describe_changed_platforms(payload.changed_platforms)
            text = f"{text} ({platforms})" if platforms else text
            if payload.explanation is not None:
                text = f"{text}: {describe_explanation(payload.explanation)}"
            return f"moved{at}: {text}" if when else text
        case NewVersion():
            return "newer tag " + ", ".join(payload.new) + at
        case TagRemoved():
            return f"tag removed{at} (was {short_digest(payload.tag_digest)})"
        case FirstSeen():
            listed = ", ".join(sorted(payload.platforms))
            text = f"first seen{at} at {short_digest(payload.digest)}"
            return f"{text} ({listed})" if listed else text
