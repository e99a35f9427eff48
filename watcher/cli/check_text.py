"""``watcher check`` for people: what changed and what failed, then a summary naming them.

Unchanged and first-seen images are listed only with ``--all``, or when they carry a warning
(a configured platform the image lacks, a failed tag listing). Failures that are the same
on every image of a registry (a registry that is down) are told once, with the image count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import click

from watcher.cli.output import short_digest
from watcher.core.changes import CheckState
from watcher.core.events import describe_event
from watcher.core.folding import fold_failures
from watcher.terminal import printable

if TYPE_CHECKING:  # the service pulls in the registry client: import it only to check
    from watcher.service import ImageCheck, RoundReport

STATE_COLOURS = {
    CheckState.CHANGED: "yellow",
    CheckState.ERROR: "red",
    CheckState.BASELINE: "cyan",
    CheckState.UNCHANGED: None,
}
# A summary names at most this many images per kind, then says how many more.
_NAMED = 3


def render_report(report: RoundReport, *, colour: bool, show_all: bool = False) -> str:
    shared = _shared_failures(report.checks)
    grouped = {ref for refs in shared.values() for ref in refs}
    lines: list[str] = []
    for check in report.checks:
        if check.ref in grouped:
            continue
        warned = bool(check.missing_platforms or check.tags_error)
        if show_all or warned or check.failed or check.decision.state is CheckState.CHANGED:
            lines.extend(_image_lines(check, colour))
    for (registry, message), refs in shared.items():
        head = printable(f"{registry}: {len(refs)} images failed: {message}")
        lines.append(click.style(head, fg="red", bold=True) if colour else head)
    lines.append(summary(report, shared))
    return "\n".join(lines)


def summary(report: RoundReport, shared: Mapping[tuple[str, str], list[str]]) -> str:
    """``5 images: 1 changed (a), 2 failed (b, c), 1 unchanged, 1 first seen``."""
    by_state: dict[str, list[str]] = defaultdict(list)
    for check in report.checks:
        if check.decision.state is CheckState.CHANGED:
            by_state["changed"].append(check.ref)
        elif check.decision.state is CheckState.BASELINE:
            by_state["first seen"].append(check.ref)
        elif not check.failed:
            by_state["unchanged"].append(check.ref)
    failed = [c.ref for c in report.checks if c.failed]
    parts = [
        f"{len(by_state['changed'])} changed{_names(by_state['changed'])}",
        f"{len(failed)} failed{_names(failed, shared)}",
    ]
    parts += [f"{len(by_state[k])} {k}" for k in ("unchanged", "first seen") if by_state[k]]
    count = len(report.checks)
    return printable(f"{count} image{'' if count == 1 else 's'}: " + ", ".join(parts))


def _names(
    refs: Sequence[str], shared: Mapping[tuple[str, str], list[str]] | None = None
) -> str:
    if not refs:
        return ""
    names: list[str] = []
    counted: set[str] = set()
    for (registry, _), members in (shared or {}).items():
        if any(ref in members for ref in refs):
            names.append(f"all {len(members)} on {registry}")
            counted.update(members)
    names += [ref for ref in refs if ref not in counted]
    more = len(names) - _NAMED
    shown = ", ".join(names[:_NAMED]) + (f" and {more} more" if more > 0 else "")
    return f" ({shown})"


def _image_lines(check: ImageCheck, colour: bool) -> list[str]:
    state = check.decision.state
    head = printable(f"{check.ref}  {state.value}")
    lines = [click.style(head, fg=STATE_COLOURS[state], bold=True) if colour else head]
    fields: list[tuple[str, str]] = []
    manifest = check.observation.manifest
    if manifest is not None:
        fields.append(("digest", short_digest(manifest.digest)))
        fields.extend((p, short_digest(d)) for p, d in sorted(manifest.platforms.items()))
    if check.observation.error:
        fields.append(("error", check.observation.error))
    fields.extend(
        ("warning", f"platform {p} is not in the image") for p in check.missing_platforms
    )
    if check.tags_error:
        fields.append(("warning", check.tags_error))
    newer = check.decision.image.newer
    if newer.same_line or newer.newest:
        fields.append(
            ("newer", f"same line: {newer.same_line or '-'}  newest: {newer.newest or '-'}")
        )
    fields.extend(
        ("event", f"{e.kind.value}: {describe_event(e.payload)}") for e in check.decision.events
    )
    labels = [printable(label) for label, _ in fields]
    width = max((len(label) for label in labels), default=0) + 2
    lines.extend(
        f"  {label:<{width}}{printable(value)}"
        for label, (_, value) in zip(labels, fields, strict=True)
    )
    return lines


def _shared_failures(checks: Sequence[ImageCheck]) -> dict[tuple[str, str], list[str]]:
    """(registry, message without the image) -> the images, where two or more failed alike
    (``core.folding``). A removed tag is the image's own news, never grouped."""
    folded = fold_failures(
        (check.ref, check.image.ref.registry, check.observation.error)
        for check in checks
        if check.observation.error and not check.observation.not_found
    )
    return {(group.registry, group.error): list(group.refs) for group in folded
            if group.count > 1}
