"""The explain document (``watcher explain REF --json``): all watcher knows and concludes
about one image, and its text rendering's lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from watcher.config import TrackedImage
from watcher.core.changes import HistoryEntry, ImageState
from watcher.core.events import short_digest
from watcher.core.explain import describe_explanation
from watcher.core.observation import ManifestObservation
from watcher.core.tags import TagAnswer, classify_tag
from watcher.core.tags.parse import ParsedTag
from watcher.store import Delivery, StoredEvent
from watcher.views.check import event_document
from watcher.views.events import delivery_document
from watcher.views.history import entry_document


class Facts(Protocol):
    """What :func:`watcher.service.explain.image_facts` gathers."""

    @property
    def image(self) -> TrackedImage: ...

    @property
    def configured(self) -> bool: ...

    @property
    def registry(self) -> dict[str, Any]: ...

    @property
    def state(self) -> ImageState | None: ...

    @property
    def last_change(self) -> HistoryEntry | None: ...

    @property
    def events(self) -> Sequence[StoredEvent]: ...

    @property
    def deliveries(self) -> Sequence[Delivery]: ...

    @property
    def dependents(self) -> list[dict[str, Any]] | None: ...

    @property
    def live(self) -> ManifestObservation | None: ...

    @property
    def answer(self) -> TagAnswer | None: ...

    @property
    def precise(self) -> str | None: ...

    @property
    def rebase(self) -> list[str]: ...

    @property
    def problems(self) -> list[str]: ...


def explain_document(facts: Facts) -> dict[str, Any]:
    ref = facts.image.ref
    state = facts.state
    family = None
    if ref.tag is not None:
        parsed = classify_tag(ref.tag, facts.image.tags)
        family = parsed.to_dict() if isinstance(parsed, ParsedTag) else {
            "tag": ref.tag, "not_a_version": str(parsed), "why": parsed.summary}
    document: dict[str, Any] = {
        "ref": str(ref),
        "reference": {"registry": ref.registry, "repository": ref.repository, "tag": ref.tag,
                      "digest": ref.digest},
        "configured": facts.configured,
        "registry": facts.registry,
        "stored": None if state is None else {
            "digest": state.digest,
            "platforms": dict(state.platforms),
            "checked_at": _iso(state.last_checked_at),
            "last_changed_at": _iso(state.last_changed_at),
            "changes": state.changes,
            "removed": state.removed,
            "last_error": state.last_error,
            "newer": {"same_line": state.newer.same_line, "newest": state.newer.newest},
        },
        "family": family,
        "last_change": None if facts.last_change is None else entry_document(facts.last_change),
        "pending_events": [event_document(e) for e in facts.events],
        "pending_deliveries": [{"event_id": d.event.id, **delivery_document(d)}
                               for d in facts.deliveries],
        "dependents": facts.dependents,
        "live": None if facts.live is None else {"digest": facts.live.digest,
                                                 "platforms": dict(facts.live.platforms)},
        "newer": None,
        "precise_tag": facts.precise,
        "rebase": list(facts.rebase),
        "problems": list(facts.problems),
    }
    if facts.answer is not None:
        answer = facts.answer
        document["newer"] = {"same_line": answer.same_line, "newest": answer.newest,
                             "candidates": answer.candidates, "note": answer.note,
                             "rejected": {tag: {"reason": reason.value,
                                                "detail": answer.details.get(tag)}
                                          for tag, reason in answer.rejected.items()}}
    return document


def explain_lines(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) rows for people, in the document's order."""
    rows: list[tuple[str, str]] = [("image", document["ref"])]
    reg = document["registry"]
    rows.append(("registry", f"{reg['host']} ({reg['auth']})"
                 + ("" if document["configured"] else "; not in [[images]]")))
    family = document.get("family")
    if family and "version" in family:
        rows.append(("family", f"{family['kind']} {family['version']}, variant "
                               f"{family['variant'] or '(none)'}, prefix "
                               f"{family['prefix'] or '(none)'}"))
    elif family:
        rows.append(("family", f"{family['tag']}: {family['why']}"))
    digests = document.get("live") or document.get("stored")
    if digests:
        rows.append(("digest", short_digest(digests["digest"])))
        for platform, digest in sorted(digests["platforms"].items()):
            rows.append((f"  {platform}", short_digest(digest)))
    if document.get("precise_tag"):
        rows.append(("equals", document["precise_tag"]))
    newer = document.get("newer") or (document.get("stored") or {}).get("newer")
    if newer:
        rows.append(("newer", f"same line: {newer['same_line'] or '-'}, newest: "
                              f"{newer['newest'] or '-'}"))
        for tag, why in list((newer.get("rejected") or {}).items())[:12]:
            rows.append(("  not", f"{tag}: {why['reason']} ({why['detail']})"))
    if document.get("rebase"):
        rows.append(("rebase", ", ".join(document["rebase"])))
    last = document.get("last_change")
    if last:
        rows.append(("last change", f"{last['at']}: " + (
            describe_explanation(last["explanation"]) if last.get("explanation")
            else f"{short_digest(last.get('old_digest'))} -> "
                 f"{short_digest(last.get('new_digest'))}")))
    for event in document["pending_events"]:
        rows.append(("pending", f"{event['kind']} {event['created_at']}"))
    for delivery in document["pending_deliveries"]:
        rows.append(("delivery", f"{delivery['channel']}: {delivery['state']}, "
                                 f"{delivery['attempts']} attempts"))
    dependents = document["dependents"]
    rows.append(("dependents", "not recorded" if dependents is None else str(len(dependents))))
    for dependent in dependents or ():
        rows.append(("dependent", dependent_line(dependent)))
    for problem in document["problems"]:
        rows.append(("problem", problem))
    return rows


def dependent_line(dependent: Mapping[str, Any]) -> str:
    """``files shop: app/Dockerfile:3 runtime (python:3.12-slim@sha256:...)``."""
    written = dependent.get("written")
    return (f"{dependent.get('source_kind')} {dependent.get('source')}: "
            f"{dependent.get('label')}" + (f" ({written})" if written else ""))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


__all__ = ["explain_document", "explain_lines"]
