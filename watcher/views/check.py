"""The document of one check round (``watcher check --json``, docs/cli.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from watcher.core.events import Event

if TYPE_CHECKING:  # the service pulls in the registry client: import it only to check
    from watcher.service import ImageCheck, RoundReport


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
