"""The scan document (``watcher scan --json``): what each directory's files build on."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from watcher.sources.files import FileDependent, FileScan

Place = tuple[str, int, str]  # path, line, image as written


def place(dependent: FileDependent) -> Place:
    return dependent.path, dependent.line, dependent.written


def dependent_document(dependent: FileDependent, behind: bool = False) -> dict[str, Any]:
    document: dict[str, Any] = {
        "path": dependent.path,
        "line": dependent.line,
        "kind": dependent.kind,
        "written": dependent.written,
        "pinned": dependent.pinned,
    }
    if behind:
        document["pin_behind"] = True
    for key in ("stage", "context", "builds"):
        value = getattr(dependent, key)
        if value is not None:
            document[key] = value
    return document


def scan_document(path: str, scan: FileScan,
                  behind: frozenset[Place] = frozenset()) -> dict[str, Any]:
    """One directory: the images found, each with every place that uses it, and problems.
    ``behind``: the places pinned to a digest their tag has moved away from."""
    by_image: dict[str, list[FileDependent]] = defaultdict(list)
    for dependent in scan.dependents:
        by_image[str(dependent.image)].append(dependent)
    return {
        "path": path,
        "images": [
            {"ref": ref, "dependents": [dependent_document(d, place(d) in behind) for d in sorted(
                uses, key=lambda d: (d.path, d.line))]}
            for ref, uses in sorted(by_image.items())
        ],
        "problems": [
            {"path": p.path, "line": p.line, "message": p.message} for p in scan.problems
        ],
    }


_WORDS = {"from": "FROM", "copy-from": "COPY --from", "mount-from": "RUN --mount from"}


def describe_dependent(document: dict[str, Any]) -> str:
    """One dependent of the document, for people:
    ``app/Dockerfile:5 FROM, stage build (service app, builds shop/app)``."""
    kind = str(document["kind"])
    text = f"{document['path']}:{document['line']} {_WORDS.get(kind, kind)}"
    if document.get("stage"):
        text += f", stage {document['stage']}"
    builds = f"builds {document['builds']}" if document.get("builds") else None
    extra = [str(x) for x in (document.get("context"), builds) if x]
    if extra:
        text += f" ({', '.join(extra)})"
    if document.get("pinned"):
        text += ", pinned by digest"
    if document.get("pin_behind"):
        text += ", pin is behind"
    return text
