"""The messages channels send: a :class:`Notice` per event, a :class:`Batch` per delivery.

The service builds them from recorded events. The payload is the event's typed facts as
stored (``watcher.core.events.payload_data``: one set of keys everywhere) plus ``tag`` and
``newer_versions`` (the image's newer tags on offer); docs/notifications.md lists them:

    digest_changed  old_digest, new_digest, changed_platforms {platform: added|removed|changed}
    new_version     same_line, newest, new (the tags reported for the first time)
    tag_removed     tag_digest (what the tag pointed to)
    first_seen      digest, platforms {platform: digest}
    every kind      tag, newer_versions, dependents (what uses the image)
    digest_changed  also explanation (what changed inside), classes (rebuild, patch, ...)

A batch also has its plan (:meth:`Batch.plans`): per dependent, what to do once about all
its notices, for the channels that send a batch as one message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeAlias

from watcher.core.rebuild_plan import DependentPlan, NoticeFacts, plan_by_dependent

JsonValue: TypeAlias = (
    str | int | float | bool | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None
)
Payload: TypeAlias = Mapping[str, JsonValue]


@dataclass(frozen=True)
class Notice:
    """One event, as people and machines are told about it."""

    event_id: str  # stable: a receiver drops duplicates by it
    kind: str  # digest_changed, new_version, tag_removed, first_seen, test
    image: str  # the image reference, e.g. python:3.12-slim
    time: datetime  # when the change was observed (timezone-aware)
    summary: str  # one line for people
    payload: Payload = field(default_factory=dict)
    details: tuple[str, ...] = ()  # more lines for people, optional

    def __post_init__(self) -> None:
        if not self.event_id:
            raise ValueError("a notice needs an event id")
        if self.time.tzinfo is None:
            raise ValueError("a notice's time must carry a timezone")
        json.dumps(self.payload)  # fail at the source, not in a channel, if it is not JSON

    def text(self, key: str) -> str | None:
        """The payload's string value for ``key``, or None."""
        value = self.payload.get(key)
        return value if isinstance(value, str) else None

    def texts(self, key: str) -> list[str]:
        """The payload's list of strings for ``key`` (empty when absent)."""
        value = self.payload.get(key)
        if isinstance(value, Sequence) and not isinstance(value, str):
            return [item for item in value if isinstance(item, str)]
        return []

    @property
    def old_digest(self) -> str | None:
        return self.text("old_digest") or self.text("tag_digest")

    @property
    def new_digest(self) -> str | None:
        return self.text("new_digest") or self.text("digest")

    @property
    def changed_platforms(self) -> list[str]:
        """The platforms a ``digest_changed`` event names (``changed_platforms``' keys)."""
        value = self.payload.get("changed_platforms")
        if isinstance(value, Mapping):
            return [str(platform) for platform in value]
        return self.texts("changed_platforms")

    @property
    def classes(self) -> list[str]:
        """A digest change's classes (``rebuild``, ``patch``, ..., ``rebase``)."""
        return self.texts("classes")

    @property
    def dependents(self) -> list[Mapping[str, JsonValue]]:
        """What uses the image (``data.dependents``): files sources' lines, containers."""
        value = self.payload.get("dependents")
        if isinstance(value, Sequence) and not isinstance(value, str):
            return [item for item in value if isinstance(item, Mapping)]
        return []

    def dependent_labels(self) -> list[str]:
        """``shop/app/Dockerfile:2 runtime``, ``build-host/web``: source and label each."""
        return [f"{d.get('source')}/{d.get('label')}" for d in self.dependents]

    @property
    def iso_time(self) -> str:
        """RFC 3339 in UTC, e.g. 2026-12-02T14:55:07Z."""
        return self.time.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "id": self.event_id,
            "kind": self.kind,
            "image": self.image,
            "time": self.iso_time,
            "summary": self.summary,
            "details": list(self.details),
            "data": dict(self.payload),
        }


@dataclass(frozen=True)
class Batch:
    """The notices one round found for one channel. Build with :meth:`of` or :meth:`single`."""

    id: str  # stable for the same events: webhook-id, X-Watcher-Batch, WATCHER_BATCH_ID
    notices: tuple[Notice, ...]

    def __post_init__(self) -> None:
        if not self.notices:
            raise ValueError("a batch needs at least one notice")

    @classmethod
    def of(cls, notices: Iterable[Notice], *, batch_id: str | None = None) -> Batch:
        """A batch in the order given; a second notice of the same kind for the same image
        (two configs, the same tag listed twice) is dropped: it says nothing new."""
        kept: list[Notice] = []
        seen: set[tuple[str, str]] = set()
        for notice in notices:
            key = (notice.kind, notice.image)
            if key not in seen:
                seen.add(key)
                kept.append(notice)
        if not kept:
            raise ValueError("a batch needs at least one notice")
        if batch_id is None:
            if len(kept) == 1:
                batch_id = kept[0].event_id
            else:
                ids = "\n".join(sorted(notice.event_id for notice in kept))
                batch_id = "batch-" + hashlib.sha256(ids.encode()).hexdigest()[:24]
        return cls(batch_id, tuple(kept))

    @classmethod
    def single(cls, notice: Notice) -> Batch:
        """A batch of one, for channels that want one message per event; its id is the event's."""
        return cls(notice.event_id, (notice,))

    def __len__(self) -> int:
        return len(self.notices)

    @property
    def first(self) -> Notice:
        return self.notices[0]

    def images(self) -> list[tuple[str, list[Notice]]]:
        """The notices grouped by image, images in first-seen order."""
        groups: dict[str, list[Notice]] = {}
        for notice in self.notices:
            groups.setdefault(notice.image, []).append(notice)
        return list(groups.items())

    def plans(self) -> list[DependentPlan]:
        """What to do once per dependent, across every notice of the batch
        (:mod:`watcher.core.rebuild_plan`)."""
        return plan_by_dependent(NoticeFacts(n.event_id, n.kind, n.image, n.payload)
                                 for n in self.notices)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "batch_id": self.id,
            "count": len(self.notices),
            "events": [notice.to_json() for notice in self.notices],
            "by_dependent": [plan.to_json() for plan in self.plans()],
        }
