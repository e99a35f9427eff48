"""Path globs as build tools write them: ``**/Dockerfile``, ``**/node_modules/**``, ``*.yaml``.

``*`` and ``?`` stay within one path segment, ``**`` spans any number of them (none
included, so ``**/Dockerfile`` matches ``Dockerfile`` at the top), ``[abc]`` is a class.
A pattern without a ``/`` matches the file name at any depth, as in ``.gitignore``.
Compiled to RE2, so no pattern can make matching slow.
"""

from __future__ import annotations

from collections.abc import Iterable

import re2  # type: ignore[import-untyped]

_OPTIONS = re2.Options()
_OPTIONS.never_capture = True


class GlobError(ValueError):
    pass


class Globs:
    """A set of patterns; :meth:`match` is true when any matches a ``/``-separated path."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        parts = [translate(p) for p in self.patterns]
        self._regex = re2.compile("|".join(f"(?:{p})" for p in parts), _OPTIONS) if parts else None

    def match(self, path: str) -> bool:
        return self._regex is not None and self._regex.fullmatch(path) is not None


def translate(pattern: str) -> str:
    """The RE2 syntax of one glob; :class:`GlobError` says what is wrong with it."""
    if not pattern or pattern.strip() != pattern:
        raise GlobError(f"{pattern!r}: empty, or spaces at an end")
    body = pattern.lstrip("/")
    if "/" not in body:
        body = "**/" + body
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if body.startswith("**", i):
            after = body[i + 2 : i + 3]
            if after == "/":
                out.append("(?:.*/)?")
                i += 3
            elif after == "":
                out.append(".*")
                i += 2
            else:
                raise GlobError(f"{pattern!r}: '**' must be a whole path segment")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = body.find("]", i + 2)
            if end < 0:
                raise GlobError(f"{pattern!r}: '[' without a closing ']'")
            members = body[i + 1 : end]
            negate = members[:1] in ("!", "^")
            members = members[1:] if negate else members
            escaped = "".join("\\" + c if c in "\\]^[" else c for c in members)
            out.append(f"[{'^' if negate else ''}{escaped}]")
            i = end + 1
            continue
        else:
            out.append(re2.escape(char) if not char.isalnum() else char)
        i += 1
    return "".join(out)
