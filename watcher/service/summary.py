"""A round's log lines: its failures folded per registry and error, then one summary line.

A registry that is down fails every image of it alike: that is one ``check failed`` line with
the number of images and up to three of them as examples, not a line per image (the per-image
lines are at debug level). Tag listings that failed alike are folded the same way. Then
``round finished`` says what the round did: images checked, unchanged, changed, first seen,
with a new version, failed, not started; its duration, the registry requests it sent and its
id (the id its deliveries carry).
"""

from __future__ import annotations

from collections.abc import Iterable

from watcher.core.changes import CheckState
from watcher.core.events import EventKind
from watcher.core.folding import FailureGroup, fold_failures
from watcher.logs import get_logger
from watcher.service.report import ImageCheck, RoundReport

log = get_logger("watcher.service")

EXAMPLES = 3


def summary_fields(report: RoundReport) -> dict[str, object]:
    """The summary line's fields (``round finished``)."""
    checks = report.checks
    return {
        "round_id": report.round_id,
        "checked": len(checks),
        "unchanged": sum(1 for c in checks
                         if c.decision.state is CheckState.UNCHANGED and not c.failed),
        "changed": report.changed,
        "first_seen": sum(1 for c in checks if c.decision.state is CheckState.BASELINE),
        "new_versions": sum(1 for c in checks
                            if any(e.kind is EventKind.NEW_VERSION for e in c.decision.events)),
        "failed": report.failed,
        "not_started": report.not_started,
        "duration_seconds": round(report.duration, 3),
        "requests": report.requests,
    }


def failure_groups(checks: Iterable[ImageCheck]) -> list[FailureGroup]:
    """The round's failed checks, folded per registry and error."""
    return fold_failures((c.ref, c.image.ref.registry, c.observation.error)
                         for c in checks if c.failed and c.observation.error)


def tag_listing_groups(checks: Iterable[ImageCheck]) -> list[FailureGroup]:
    """The round's failed tag listings (of images whose check itself succeeded), folded."""
    return fold_failures((c.ref, c.image.ref.registry, _listing_error(c))
                         for c in checks if not c.failed and c.tags_error)


def _listing_error(check: ImageCheck) -> str:
    text = check.tags_error or ""
    # "tag listing failed: REF on REGISTRY: ..." -> "REF on REGISTRY: ..." for folding.
    return text.removeprefix("tag listing failed: ")


def log_round(report: RoundReport) -> None:
    """The folded failure lines, then the summary line."""
    for group in failure_groups(report.checks):
        log.warning("check failed", **_group_fields(group, report.round_id))
    for group in tag_listing_groups(report.checks):
        log.warning("tag listing failed", **_group_fields(group, report.round_id))
    log.info("round finished", **summary_fields(report))


def _group_fields(group: FailureGroup, round_id: str) -> dict[str, object]:
    return {
        "registry": group.registry,
        "error": group.error,
        "images": group.count,
        "examples": list(group.refs[:EXAMPLES]),
        "round_id": round_id,
    }


__all__ = ["EXAMPLES", "failure_groups", "log_round", "summary_fields", "tag_listing_groups"]
