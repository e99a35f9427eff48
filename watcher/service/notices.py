"""The notice of one recorded event: its stored facts, what uses the image (the
dependents the sources linked), and for a moved tag, per dependent, what to rebuild, in
words (:mod:`watcher.core.rebuild`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from watcher.core.changes import ImageState
from watcher.core.events import (
    DigestChanged,
    Event,
    FirstSeen,
    NewVersion,
    TagRemoved,
    describe_event,
    payload_data,
)
from watcher.core.rebuild import (
    classes_of,
    dependent_document,
    move_line,
    rebuild_line,
    removed_line,
)
from watcher.core.reference import parse_reference
from watcher.errors import InvalidReference
from watcher.notify import Notice
from watcher.store import Dependent


def notice_for(event: Event, state: ImageState | None = None,
               dependents: Sequence[Dependent] = ()) -> Notice:
    """The notice for ``event``: its stored payload plus ``tag`` and ``newer_versions``;
    ``classes`` (of a digest change); ``dependents`` (every place that uses the image: the
    files sources' lines, the engines' containers), and ``containers`` (host, name, id) for
    the latter. Per dependent, in words (``advice``): what to rebuild for a moved tag, what
    to move to for a newer tag, that a removed tag needs another."""
    try:
        tag = parse_reference(event.ref).tag
    except InvalidReference:
        tag = None
    newer: list[str] = []
    if state is not None:
        newer = [t for t in dict.fromkeys((state.newer.same_line, state.newer.newest)) if t]
    payload: dict[str, Any] = {**payload_data(event.payload), "tag": tag,
                               "newer_versions": newer}
    details = [describe_event(event.payload)]
    documents = [dependent_document(d.source_kind, d.source_name, d.locator, d.label,
                                    d.details) for d in dependents]
    payload["dependents"] = documents
    if isinstance(event.payload, DigestChanged):
        explanation = event.payload.explanation
        payload["classes"] = classes_of(explanation)
        newest = state.newer.newest if state is not None else None
        line = newest if newest and newest != tag else None
        platforms = [p for p, how in event.payload.changed_platforms.items() if how]
        for document in documents:  # the words beside the facts, for every channel
            document["advice"] = rebuild_line(document, event.ref, explanation, platforms,
                                              line)
            details.append(document["advice"])
    elif isinstance(event.payload, NewVersion):
        same_line, newest = event.payload.same_line, event.payload.newest
        for document in documents:  # what to edit, as ``watcher advise`` says it
            if (said := move_line(document, event.ref, tag, same_line, newest)) is not None:
                document["advice"] = said
                details.append(said)
    elif isinstance(event.payload, TagRemoved):
        for document in documents:
            document["advice"] = removed_line(document, event.ref)
            details.append(document["advice"])
    containers = [d for d in dependents if d.source_kind == "engine"]
    if containers:
        payload["containers"] = [{"host": c.source_name, "name": c.label, "id": c.locator}
                                 for c in containers]
        details.append("containers: " + ", ".join(f"{c.source_name}/{c.label}"
                                                  for c in containers))
    return Notice(
        event_id=event.id,
        kind=event.kind.value,
        image=event.ref,
        time=event.created_at,
        summary=_summary(event),
        payload=payload,
        details=tuple(details),
    )


def _summary(event: Event) -> str:
    match event.payload:
        case DigestChanged(explanation=explanation):
            tag = (explanation or {}).get("tag")
            now = f" (now {tag})" if isinstance(tag, str) and tag else ""
            return f"{event.ref} points to a new digest{now}"
        case NewVersion(new=new):
            return f"{event.ref}: newer tag {', '.join(new)}" if new else f"{event.ref}: newer tag"
        case TagRemoved():
            return f"{event.ref}: the tag was removed"
        case FirstSeen():
            return f"{event.ref} is watched from now on"


__all__ = ["notice_for"]
