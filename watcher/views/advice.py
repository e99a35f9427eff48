"""The advice document (``watcher advise --json``): per source, each use of a base image and
what to do about it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from watcher.core.advice import Advice, tag_reference
from watcher.sources.files import FileDependent, FileScan
from watcher.views.scan import dependent_document


def use_document(dependent: FileDependent, advice: Advice) -> dict[str, Any]:
    document = {"ref": str(dependent.image), "follows": str(tag_reference(dependent.image)),
                **dependent_document(dependent), "action": advice.action,
                "reason": advice.reason}
    if advice.new_written is not None:
        document["new"] = advice.new_written
    if advice.note is not None:
        document["note"] = advice.note
    return document


def advice_document(path: str, scan: FileScan,
                    uses: Sequence[tuple[FileDependent, Advice]]) -> dict[str, Any]:
    return {
        "path": path,
        "uses": [use_document(d, a) for d, a in uses],
        "problems": [{"path": p.path, "line": p.line, "message": p.message}
                     for p in scan.problems],
    }


def describe_use(document: dict[str, Any]) -> str:
    """``app/Dockerfile:1 python:3.12-slim@sha256:…: pin is behind: 3.12-slim moved to …``"""
    return (f"{document['path']}:{document['line']} {document['written']}: "
            f"{document['action']}: {document['reason']}")
