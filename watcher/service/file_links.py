"""Files sources, wired: read each ``[[sources.files]]`` (only the files that changed since
the last reading: :class:`~watcher.sources.files.FileSource` keeps a cache), track every
base image found, and link each place that uses it as a dependent.

A ``FROM python:3.12-slim@sha256:...`` follows its tag: the tracked image is
``python:3.12-slim`` and the pin is kept in the link's details. A source whose directory is
gone or unreadable is one error naming it; its last links (and so its images) stay, like
an engine that is down. A deleted Dockerfile loses its links at the next reading; the
images keep their history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from watcher.config import Config, FilesSourceConfig
from watcher.core.advice import tag_reference
from watcher.core.reference import parse_reference
from watcher.errors import FilesSourceError, InvalidReference
from watcher.logs import get_logger
from watcher.service.sources import file_source
from watcher.sources.files import FileDependent, FileScan, FileSource
from watcher.store import Link

log = get_logger("watcher.sources")

FILES_KIND = "files"


@dataclass(frozen=True)
class FilesReading:
    """One files source read once: its links, or why it could not be read."""

    source: FilesSourceConfig
    scan: FileScan
    links: tuple[Link, ...] = ()
    error: FilesSourceError | None = None

    @property
    def refs(self) -> list[str]:
        """The tracked images its links use, in the order first found."""
        return list(dict.fromkeys(link.ref for link in self.links))


class FileSources:
    """The scanners of a config's files sources, kept from one reading to the next so that
    only changed files are read again (a scanner is made anew when its entry changes)."""

    def __init__(self) -> None:
        self._scanners: list[tuple[FilesSourceConfig, FileSource]] = []

    def read(self, entries: Sequence[FilesSourceConfig]) -> list[FilesReading]:
        kept = self._scanners
        scanners = [(entry, next((s for e, s in kept if e == entry), None) or file_source(entry))
                    for entry in entries]
        self._scanners = scanners
        return [read_files(entry, scanner) for entry, scanner in scanners]

    async def read_async(self, config: Config) -> list[FilesReading]:
        if not config.sources.files:
            return []
        return await asyncio.to_thread(self.read, config.sources.files)


def read_files(entry: FilesSourceConfig, scanner: FileSource) -> FilesReading:
    scan = scanner.scan()
    if scan.error is not None:
        error = FilesSourceError(scan.error, source=entry.name, path=str(entry.path))
        log.warning("files source unavailable; its last links are kept", source=entry.name,
                    error=error.message)
        return FilesReading(entry, scan, error=error)
    log.debug("files source read", source=entry.name, read=scan.files_read,
              unchanged=scan.files_unchanged, dependents=len(scan.dependents))
    return FilesReading(entry, scan, tuple(file_link(entry, d) for d in scan.dependents))


def file_link(entry: FilesSourceConfig, dependent: FileDependent) -> Link:
    """The link of one place that uses an image: located by its file, labelled
    ``path:line`` and its stage (or compose service, Kubernetes container)."""
    where = dependent.stage or dependent.context
    label = f"{dependent.path}:{dependent.line}" + (f" {where}" if where else "")
    details: dict[str, Any] = {
        "path": dependent.path,
        "source_path": str(entry.path),
        "file": str(entry.path / dependent.path),
        "line": dependent.line,
        "kind": dependent.kind,
        "stage": dependent.stage,
        "context": dependent.context,
        "written": dependent.written,
        "reference": str(dependent.image),
        "pinned": dependent.image.digest,
        "platform": dependent.platform,
        "builds": dependent.builds,
    }
    return Link(str(tag_reference(dependent.image)), dependent.path, label, details)


def file_lines(readings: Sequence[FilesReading], *, problems: bool = False) -> list[str]:
    """One line per files source read (``check``'s text); with ``problems``, what could not
    be read in its files."""
    lines = []
    for reading in readings:
        if reading.error is not None:
            continue
        scan = reading.scan
        lines.append(f"files {reading.source.name}: {len(reading.links)} dependents "
                     f"({len(reading.refs)} images), {scan.files_read} files read, "
                     f"{scan.files_unchanged} unchanged, {len(scan.problems)} problems")
        if problems:
            lines.extend(f"  problem {p}" for p in scan.problems)
    return lines


def files_document(readings: Sequence[FilesReading]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.source.name,
            "path": str(r.source.path),
            "error": r.error.message if r.error else None,
            "dependents": [{"image": link.ref, "label": link.label, "path": link.locator}
                           for link in r.links],
            "problems": [str(p) for p in r.scan.problems] if r.error is None else [],
        }
        for r in readings
    ]


def stored_dependent(details: Mapping[str, Any]) -> FileDependent | None:
    """A link's details back as the place it was read from (None when they are not a files
    link's, or its reference no longer parses)."""
    try:
        image = parse_reference(str(details["reference"]))
        return FileDependent(
            image, str(details["path"]), int(details["line"]), str(details["kind"]),
            str(details["written"]), _text(details.get("stage")), _text(details.get("context")),
            _text(details.get("builds")), _text(details.get("platform")))
    except (KeyError, TypeError, ValueError, InvalidReference):
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


__all__ = ["FILES_KIND", "FileSources", "FilesReading", "file_lines", "file_link",
           "files_document", "read_files", "stored_dependent"]
