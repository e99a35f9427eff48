"""OS lines in a tag's variant, and the two questions asked of a family beyond "newer":

- **rebase available**: the same version on a newer OS line (``3.12.8-slim-bookworm`` ->
  ``3.12.8-slim-trixie``, ``3.21-alpine3.20`` -> ``3.21-alpine3.21``, ``noble`` after
  ``jammy``, ``debian-12`` -> ``debian-13``);
- **precise tag**: which few tags a floating tag (``3.12-slim``, ``latest``) may equal now,
  most likely first (``3.12.8-slim-bookworm``), so that a caller compares only their digests.

Pure: no I/O. See ``docs/tags.md`` and ``docs/rebuild-advice.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from watcher.core.tags.parse import ParsedTag, classify_tag
from watcher.core.tags.policy import DEFAULT_POLICY, TagPolicy

__all__ = ["OsLine", "os_line", "precise_candidates", "rebase_targets"]

# Debian and Ubuntu codenames in release order (newer ones appended as they come).
DEBIAN = ("jessie", "stretch", "buster", "bullseye", "bookworm", "trixie", "forky", "duke")
UBUNTU = ("bionic", "focal", "jammy", "noble", "oracular", "plucky", "questing", "resolute")
_NUMBERED = re.compile(r"(?P<name>alpine|debian|ubuntu|ubi|fedora|el|centos|rocky)"
                       r"-?(?P<number>\d+(?:\.\d+)?)")
MAX_CANDIDATES = 6  # digests compared for a precise tag, at most


@dataclass(frozen=True)
class OsLine:
    """One OS line in a variant: its distribution and its place in the release order."""

    distribution: str
    order: tuple[int, ...]
    start: int  # where it is in the variant's text
    end: int


def os_line(variant: str) -> OsLine | None:
    """The (last) OS line named in ``variant``: ``slim-bookworm`` -> debian #4."""
    found: OsLine | None = None
    for match in re.finditer(r"[A-Za-z]+[0-9.-]*[0-9]|[A-Za-z]+", variant):
        word = match.group(0).lower()
        for name, names in (("debian", DEBIAN), ("ubuntu", UBUNTU)):
            if word in names:
                found = OsLine(name, (names.index(word),), match.start(), match.end())
        numbered = _NUMBERED.fullmatch(word)
        if numbered is not None:
            order = tuple(int(n) for n in numbered["number"].split("."))
            found = OsLine(numbered["name"], order, match.start(), match.end())
    return found


def rebase_targets(current: str, tags: Iterable[str],
                   policy: TagPolicy | None = None) -> list[str]:
    """Tags of the same version, prefix and variant as ``current`` but on a newer line of
    the same OS, newest line first. Empty when ``current`` names no OS line."""
    cur = classify_tag(current, policy or DEFAULT_POLICY)
    if not isinstance(cur, ParsedTag):
        return []
    line = os_line(cur.variant)
    if line is None:
        return []
    found: list[tuple[tuple[int, ...], str]] = []
    for tag in dict.fromkeys(tags):
        if tag == current:
            continue
        other = classify_tag(tag, policy or DEFAULT_POLICY)
        if not isinstance(other, ParsedTag) or not _same_but_variant(cur, other):
            continue
        theirs = os_line(other.variant)
        if (theirs is None or theirs.distribution != line.distribution
                or theirs.order <= line.order):
            continue
        # Everything around the OS line is the same: slim-bookworm -> slim-trixie only.
        if (other.variant[:theirs.start] != cur.variant[:line.start]
                or other.variant[theirs.end:] != cur.variant[line.end:]):
            continue
        found.append((theirs.order, tag))
    return [tag for _, tag in sorted(found, reverse=True)]


def _same_but_variant(cur: ParsedTag, other: ParsedTag) -> bool:
    return (other.prefix == cur.prefix and other.format == cur.format
            and other.key == cur.key and other.release == cur.release
            and other.pre == cur.pre and other.variant != cur.variant)


def precise_candidates(current: str, tags: Iterable[str], policy: TagPolicy | None = None,
                       limit: int = MAX_CANDIDATES) -> list[str]:
    """The tags ``current`` most likely equals now, newest and most precise first, at most
    ``limit``: for ``3.12-slim``, the ``3.12.N-slim...`` tags (``3.12.8-slim``,
    ``3.12.8-slim-bookworm``); for a floating alias (``latest``), the newest plain versions.
    """
    policy = policy or DEFAULT_POLICY
    cur = classify_tag(current, policy)
    scored: list[tuple[tuple[object, ...], str]] = []
    for tag in dict.fromkeys(tags):
        if tag == current:
            continue
        other = classify_tag(tag, policy)
        if not isinstance(other, ParsedTag) or other.kind not in ("version", "calver"):
            continue
        if isinstance(cur, ParsedTag):
            if not _refines(cur, other):
                continue
        elif other.prefix or other.pre is not None or other.variant:
            continue  # a floating alias is compared with plain releases only
        # Newest first; of one version, the most components, then the one naming the
        # newest OS line (a floating tag follows the newest), then the plainest.
        line = os_line(other.variant)
        scored.append(((other.key, other.precision, line.order if line else (),
                        -len(other.variant)), tag))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return [tag for _, tag in scored[:limit]]


def _refines(cur: ParsedTag, other: ParsedTag) -> bool:
    """``other`` is a more precise spelling of what ``cur`` may point to: the same prefix,
    its release extending ``cur``'s, its variant ``cur``'s or ``cur``'s plus an OS line."""
    if other.prefix != cur.prefix or other.format != cur.format:
        return False
    if other.release[:cur.precision] != cur.release or other.precision < cur.precision:
        return False
    if (other.pre is None) != (cur.pre is None):
        return False
    if other.variant == cur.variant:
        return other.precision > cur.precision
    extra = other.variant[len(cur.variant):] if other.variant.startswith(cur.variant) else None
    if cur.variant and extra is not None and not extra.startswith("-"):
        return False
    if extra is None:
        return False
    line = os_line(extra)
    return line is not None and extra.strip("-") == extra[line.start:line.end].strip("-")
