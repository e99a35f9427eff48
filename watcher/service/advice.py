"""Rebuild advice for the files of a source: each use of a base image weighed against what
the store knows of it (core/advice.py), and the file edits that would follow that advice
(core/rewrite.py): shown as a diff, or written in place, atomically.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from watcher.core.advice import PIN_BEHIND, Advice, advise_use, tag_reference
from watcher.core.events import DigestChanged, describe_event
from watcher.core.rewrite import Edit, Rewritten, rewrite, unified_diff
from watcher.errors import RewriteError
from watcher.service.file_links import FILES_KIND, stored_dependent
from watcher.sources.files import FileDependent, FileScan, FileSource
from watcher.store import Store


@dataclass(frozen=True)
class UseAdvice:
    dependent: FileDependent
    advice: Advice


@dataclass(frozen=True)
class SourceAdvice:
    path: Path
    scan: FileScan
    uses: tuple[UseAdvice, ...]


@dataclass(frozen=True)
class FileRewrite:
    path: str                 # relative to the source
    full: Path
    before: str
    result: Rewritten

    @property
    def diff(self) -> str:
        return unified_diff(self.path, self.before, self.result.text)


def advise(store: Store | None, sources: Iterable[FileSource]) -> list[SourceAdvice]:
    """Scan each source and advise every use found (without a store: all "not tracked")."""
    return _advise(store, [(source.path, source.scan()) for source in sources])


def advise_stored(store: Store) -> list[SourceAdvice]:
    """Advise every use the files sources' links record, as the last ``check`` or round
    read them: no file is read (they may be on another machine)."""
    by_source: dict[str, tuple[Path, list[FileDependent]]] = {}
    for dependents in store.dependents(source_kind=FILES_KIND).values():
        for stored in dependents:
            dependent = stored_dependent(stored.details)
            if dependent is None:
                continue
            path = Path(str(stored.details.get("source_path") or stored.source_name))
            by_source.setdefault(stored.source_name, (path, []))[1].append(dependent)
    return _advise(store, [(path, FileScan(tuple(found)))
                           for path, found in by_source.values()])


def _advise(store: Store | None, scanned: Sequence[tuple[Path, FileScan]]
            ) -> list[SourceAdvice]:
    refs = {str(tag_reference(d.image)) for _, scan in scanned for d in scan.dependents}
    states = store.load_states(refs, include_inactive=True) if store is not None else {}
    pending = _pending_changes(store, refs) if store is not None else {}
    result = []
    for path, scan in scanned:
        uses = []
        for dependent in sorted(scan.dependents, key=lambda d: (d.path, d.line)):
            ref = str(tag_reference(dependent.image))
            advice = advise_use(dependent.image, dependent.written, states.get(ref),
                                pending.get(ref))
            uses.append(UseAdvice(dependent, advice))
        result.append(SourceAdvice(path, scan, tuple(uses)))
    return result


def pins_behind(store: Store, dependents: Iterable[FileDependent]) -> list[FileDependent]:
    """The dependents pinned to a digest their tag no longer points to."""
    pinned = [d for d in dependents if d.pinned and d.image.tag is not None]
    states = store.load_states({str(tag_reference(d.image)) for d in pinned},
                               include_inactive=True)
    return [d for d in pinned if advise_use(d.image, d.written,
                                            states.get(str(tag_reference(d.image)))
                                            ).action == PIN_BEHIND]


def _pending_changes(store: Store, refs: set[str]) -> dict[str, str]:
    """The latest unacknowledged digest change of each image, described."""
    found: dict[str, str] = {}
    for event in store.events():
        if event.ref in refs and isinstance(event.payload, DigestChanged):
            found[event.ref] = describe_event(event.payload)  # oldest first: the latest wins
    return found


def planned_rewrites(advice: SourceAdvice) -> list[FileRewrite]:
    """The files whose image references would change, with the new text of each."""
    edits: dict[str, list[Edit]] = defaultdict(list)
    for use in advice.uses:
        if use.advice.new_written is not None:
            d = use.dependent
            edits[d.path].append(Edit(d.line, d.written, use.advice.new_written))
    rewrites = []
    for path, wanted in sorted(edits.items()):
        full = advice.path / path
        before = _read(full)
        result = rewrite(before, _unique(wanted))
        rewrites.append(FileRewrite(path, full, before, result))
    return rewrites


def _unique(edits: Sequence[Edit]) -> list[Edit]:
    return list(dict.fromkeys(edits))


def write_rewrite(rewrite_: FileRewrite) -> None:
    """Replace the file by its new text: a temporary file beside it, its mode kept, renamed
    over it. Refused when the file changed since it was read."""
    if not rewrite_.result.changed:
        return
    if _read(rewrite_.full) != rewrite_.before:
        raise RewriteError(f"{rewrite_.full} changed while it was being rewritten; run again")
    try:
        mode = rewrite_.full.stat().st_mode & 0o7777
        descriptor, temporary = tempfile.mkstemp(prefix=f".{rewrite_.full.name}.",
                                                 dir=rewrite_.full.parent)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(rewrite_.result.text.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, rewrite_.full)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise RewriteError(f"cannot write {rewrite_.full}: {exc.strerror or exc}") from exc


def _read(full: Path) -> str:
    try:
        return full.read_bytes().decode("utf-8")  # bytes: \r\n stays \r\n
    except OSError as exc:
        raise RewriteError(f"cannot read {full}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RewriteError(f"{full} is not UTF-8 text") from exc
