"""The document of one check round (``watcher check --json``, docs/cli.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from watcher.core.changes import CheckDecision, ImageState, Observation
from watcher.core.events import Event


class ImageCheck(Protocol):
    """What the document needs of one image's check (``watcher.service.ImageCheck`` is one).

    Views and the service are siblings: the view names the shape it renders instead of
    importing the service."""

    @property
    def ref(self) -> str: ...
    @property
    def previous(self) -> ImageState | None: ...
    @property
    def observation(self) -> Observation: ...
    @property
    def decision(self) -> CheckDecision: ...
    @property
    def missing_platforms(self) -> tuple[str, ...]: ...
    @property
    def tags_error(self) -> str | None: ...


class RoundReport(Protocol):
    """What the document needs of a round (``watcher.service.RoundReport`` is one)."""

    @property
    def checks(self) -> Sequence[ImageCheck]: ...
    @property
    def changed(self) -> int: ...
    @property
    def failed(self) -> int: ...


def event_document(event: Event) -> dict[str, Any]:
    """An event as the documents show it: kind, id, time, then the kind's fields."""
    return {
        "kind": event.kind.value,
        "id": event.id,
        "created_at": event.created_at.isoformat(),
        **event.data,
    }


def check_document(check: ImageCheck) -> dict[str, Any]:
    """The documented JSON object for one image."""
    manifest = check.observation.manifest
    newer = check.decision.image.newer
    return {
        "ref": check.ref,
        "digest": manifest.digest if manifest else None,
        "media_type": manifest.media_type if manifest else None,
        "platforms": dict(manifest.platforms) if manifest else {},
        "error": check.observation.error,
        "state": check.decision.state.value,
        "previous_digest": check.previous.digest if check.previous else None,
        "newer": {"same_line": newer.same_line, "newest": newer.newest},
        "missing_platforms": list(check.missing_platforms),
        "tags_error": check.tags_error,
        "events": [event_document(e) for e in check.decision.events],
    }


def report_document(report: RoundReport) -> dict[str, Any]:
    return {
        "images": [check_document(c) for c in report.checks],
        "summary": {
            "images": len(report.checks),
            "changed": report.changed,
            "failed": report.failed,
        },
    }
