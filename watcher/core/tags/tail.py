"""Reading what follows the numbers of a tag: ``-tok-tok...`` after ``3.12.7`` or ``20240115``.

In order, each part optional::

    [-build] [-metadata...] [-milestone] [-pre-release and variant tokens...] [-rN] [-lsN]

- build: a plain number right after the version (``1.2.3-1``);
- metadata: commit-like tokens (7-40 hex characters with a letter, optionally after ``g``) or
  ``pkg-<hex>``, such as Plex's ``c6bbc1b53``: kept for display, never compared, never part
  of the variant;
- milestone: Tomcat's ``M20``, a pre-release;
- one pre-release token anywhere among the rest (``rc1``, ``beta``, ``ea-11``), the other
  tokens joined are the variant (``slim-bookworm``, ``debian-12``);
- revision ``rN`` (Bitnami's ``-r5``, Alpine's package revision) and linuxserver's build
  counter ``lsN`` as the last tokens, in that order.

Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["PRE_RANK", "PreRelease", "Tail", "read_tail"]

# Pre-release labels and their rank: dev < alpha (milestone) < beta < rc < (stable).
PRE_RANK = {
    "dev": 0,
    "a": 1,
    "alpha": 1,
    "ea": 1,
    "m": 1,
    "b": 2,
    "beta": 2,
    "preview": 2,
    "c": 3,
    "rc": 3,
    "pre": 3,
}
LABEL = r"alpha|beta|preview|pre|rc|dev|ea"
# A pre-release as its own dash-separated token: rc, rc1, rc.10, beta, ea, dev5.
_TOKEN_PRE = re.compile(rf"(?P<label>{LABEL}|(?:a|b|c)(?=\.?\d))\.?(?P<num>\d+)?", re.IGNORECASE)
_MILESTONE = re.compile(r"M(?P<num>\d+)")
_HEX_META = re.compile(r"g?(?=[0-9]*[a-f])[0-9a-f]{7,40}")
_HEX = re.compile(r"[0-9a-f]{4,40}")
_REVISION = re.compile(r"r(?P<num>\d{1,9})")
_COUNTER = re.compile(r"ls(?P<num>\d{1,9})")
# Anything that needs the token-by-token reading; without it the rest is a plain variant.
_SPECIAL = re.compile(
    rf"(?:^|-)(?:{LABEL}|[abc]\.?\d)|-(?:r|ls)\d+$|^(?:r|ls)\d+$|^(?:\d|M\d|pkg-|g?[0-9a-f]{{7}})",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class PreRelease:
    """A pre-release marker: ``label`` as spelled (``RC``), its ``rank`` and ``number``."""

    label: str
    rank: int
    number: int | None

    def __str__(self) -> str:
        return self.label + ("" if self.number is None else str(self.number))


class Tail(NamedTuple):
    """The parts read from after the numbers of a tag."""

    pre: PreRelease | None = None
    build: int | None = None
    variant: str = ""
    revision: int | None = None
    counter: int | None = None
    metadata: tuple[str, ...] = ()


_EMPTY = Tail()


def read_tail(rest: str | None) -> Tail | None:
    """Read ``rest`` (the text after the first ``-``), or ``None`` when it does not parse."""
    if rest is None:
        return _EMPTY
    return _read_tail(rest)


@functools.lru_cache(maxsize=4096)  # a repository repeats its variants on every version
def _read_tail(rest: str) -> Tail | None:
    if not _SPECIAL.search(rest):
        # The common case: a plain variant such as "slim-bookworm".
        empty_token = not rest or "--" in rest or rest[0] == "-" or rest[-1] == "-"
        return None if empty_token else Tail(variant=rest)
    tokens = rest.split("-")
    if any(not t for t in tokens):
        return None
    build: int | None = None
    i, end = 0, len(tokens)
    if tokens[0].isdigit():
        build, i = int(tokens[0]), 1
    metadata: list[str] = []
    while i < end:
        if _HEX_META.fullmatch(tokens[i]):
            metadata.append(tokens[i])
            i += 1
        elif tokens[i] == "pkg" and i + 1 < end and _HEX.fullmatch(tokens[i + 1]):
            metadata.append(f"pkg-{tokens[i + 1]}")
            i += 2
        else:
            break
    pre: PreRelease | None = None
    milestone = _MILESTONE.fullmatch(tokens[i]) if i < end else None
    if milestone:
        pre = PreRelease("M", PRE_RANK["m"], int(milestone["num"]))
        i += 1
    counter = revision = None
    if end > i and (match := _COUNTER.fullmatch(tokens[end - 1])):
        counter, end = int(match["num"]), end - 1
    if end > i and (match := _REVISION.fullmatch(tokens[end - 1])):
        revision, end = int(match["num"]), end - 1
    variant: list[str] = []
    while i < end:
        token = tokens[i]
        match = _TOKEN_PRE.fullmatch(token) if pre is None else None
        if match:
            number = match["num"]
            if number is None and i + 1 < end and tokens[i + 1].isdigit():
                i += 1
                number = tokens[i]
            label = match["label"]
            count = None if number is None else int(number)
            pre = PreRelease(label, PRE_RANK[label.lower()], count)
        else:
            variant.append(token)
        i += 1
    return Tail(pre, build, "-".join(variant), revision, counter, tuple(metadata))
