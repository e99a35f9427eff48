"""Rewriting the image references of a file in place, and the unified diff of doing so.

Each edit names the line an instruction (or a YAML ``image:``) starts on, the image as
written there and what to write instead. Only that token changes: the first whole-word
occurrence on the instruction's line or its continuation lines (a Dockerfile line ending in
its escape character). Everything else, line endings (``\\r\\n`` too) included, stays byte
for byte. An edit whose token is not found is skipped and said, never guessed. Pure.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_CONTINUATION = 50  # lines one instruction may span, looked through for its image
_BEFORE = frozenset(" \t=\"'[,")
_AFTER = frozenset(" \t\"',]\r\n\\")


@dataclass(frozen=True)
class Edit:
    line: int   # 1-based
    old: str
    new: str


@dataclass(frozen=True)
class Rewritten:
    text: str
    applied: tuple[Edit, ...] = ()
    skipped: tuple[tuple[Edit, str], ...] = ()  # and why

    @property
    def changed(self) -> bool:
        return bool(self.applied)


def rewrite(text: str, edits: Sequence[Edit], escape: str | None = None) -> Rewritten:
    """``escape``: the continuation character (default: a Dockerfile's ``# escape=``
    directive, else a backslash)."""
    lines = split_lines(text)
    escape = escape or escape_character(lines)
    applied: list[Edit] = []
    skipped: list[tuple[Edit, str]] = []
    for edit in edits:
        if edit.old == edit.new:
            continue
        if not edit.old or any(c in edit.old for c in "\r\n") or any(
                c in edit.new for c in "\r\n\t "):
            skipped.append((edit, "not a single image reference"))
            continue
        if not 1 <= edit.line <= len(lines):
            skipped.append((edit, f"line {edit.line} is not in the file"))
            continue
        index = edit.line - 1
        for number in range(index, min(len(lines), index + MAX_CONTINUATION)):
            at = _find(lines[number], edit.old)
            if at is not None:
                line = lines[number]
                lines[number] = line[:at] + edit.new + line[at + len(edit.old):]
                applied.append(edit)
                break
            if not lines[number].rstrip("\r\n").rstrip(" \t").endswith(escape):
                skipped.append((edit, f"{edit.old} is not on line {edit.line} as written"))
                break
        else:
            skipped.append((edit, f"{edit.old} is not on line {edit.line} as written"))
    return Rewritten("".join(lines), tuple(applied), tuple(skipped))


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split at ``\n`` only, as Dockerfile and YAML parsers count
    them (``str.splitlines`` also splits at form feeds and Unicode separators)."""
    lines = text.split("\n")
    ended = [line + "\n" for line in lines[:-1]]
    return [*ended, lines[-1]] if lines[-1] else ended


_DIRECTIVE = re.compile(r"#\s*escape\s*=\s*(\S)\s*$", re.IGNORECASE)


def escape_character(lines: Sequence[str]) -> str:
    """The ``# escape=`` parser directive of a Dockerfile (only leading comments can be
    directives), else ``\\``."""
    for line in lines:
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        match = _DIRECTIVE.match(stripped)
        if match is not None:
            return match.group(1)
    return "\\"


def _find(line: str, token: str) -> int | None:
    start = 0
    while (at := line.find(token, start)) >= 0:
        end = at + len(token)
        if (at == 0 or line[at - 1] in _BEFORE) and (end == len(line) or line[end] in _AFTER):
            return at
        start = at + 1
    return None


def unified_diff(path: str, before: str, after: str) -> str:
    """``--- a/path`` / ``+++ b/path`` hunks; empty when nothing changed. A line ending in
    ``\\r\\n`` is shown without the ``\\r``."""
    if before == after:
        return ""
    old = [line.rstrip("\r\n") + "\n" for line in split_lines(before)]
    new = [line.rstrip("\r\n") + "\n" for line in split_lines(after)]
    return "".join(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}"))
