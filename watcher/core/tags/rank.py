"""Ranking the offered tags against the current one.

An offered tag is a candidate only when it is of the current tag's family (see
:meth:`ParsedTag.family_mismatch`), newer, inside the policy's range and not a stray pre-release.
:func:`rank_tags` returns the newest candidate on the current *line* and the newest overall;
every other tag gets a stable :class:`Reason`. Pure: no I/O. See ``docs/tags.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from watcher.core.tags.parse import ParsedTag, classify_tag
from watcher.core.tags.policy import DEFAULT_POLICY, TagPolicy
from watcher.core.tags.reason import Reason

__all__ = ["RULES_VERSION", "TagAnswer", "rank_tags"]

# Raise it whenever a change to the rules can change an answer for the same tags: answers
# stored by a previous watcher are then ranked again instead of reused.
# 2: revisions, build counters, build metadata, milestones, MinIO stamps, calendar versions.
RULES_VERSION = 2


@dataclass(frozen=True, eq=False)
class TagAnswer:
    """What :func:`rank_tags` found. ``rejected`` maps each offered tag that is not a candidate
    to a :class:`Reason` (a ``str``); ``details`` says the same for people."""

    current: str
    same_line: str | None
    newest: str | None
    floating: bool
    parsed: ParsedTag | None
    candidates: list[str]
    rejected: dict[str, Reason]
    details: dict[str, str]
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "same_line": self.same_line,
            "newest": self.newest,
            "floating": self.floating,
            "parsed": None if self.parsed is None else self.parsed.to_dict(),
            "candidates": list(self.candidates),
            "rejected": {tag: reason.value for tag, reason in self.rejected.items()},
            "details": dict(self.details),
            "note": self.note,
        }


def rank_tags(current: str, tags: Iterable[str], policy: TagPolicy | None = None) -> TagAnswer:
    """Rank ``tags`` against ``current``: the newest on the current line, and the newest overall."""
    policy = policy or DEFAULT_POLICY
    cur = classify_tag(current, policy)
    if isinstance(cur, Reason):
        floating = cur is Reason.FLOATING
        note = (
            f"{current!r} is a floating tag: it is watched by digest only"
            if floating
            else f"{current!r} is not a version ({cur.summary}): it is watched by digest only"
        )
        return TagAnswer(current, None, None, floating, None, [], {}, {}, note)

    rejected: dict[str, Reason] = {}
    details: dict[str, str] = {}
    found: list[ParsedTag] = []

    for tag in dict.fromkeys(tags):
        verdict = _judge(tag, cur, policy)
        if isinstance(verdict, ParsedTag):
            found.append(verdict)
        else:
            rejected[tag], details[tag] = verdict

    found.sort(key=lambda p: (p.key, p.tag), reverse=True)
    same_line = next((p.tag for p in found if p.on_line_of(cur)), None)
    newest = found[0].tag if found else None
    return TagAnswer(
        current, same_line, newest, False, cur, [p.tag for p in found], rejected, details
    )


def _judge(tag: str, cur: ParsedTag, policy: TagPolicy) -> ParsedTag | tuple[Reason, str]:
    """The parsed tag when it is a candidate, else the reason and a detail for people."""
    if tag == cur.tag:
        return Reason.SAME, "the current tag"
    why = policy.excludes(tag)
    if why is not None:
        return Reason.EXCLUDED, why
    parsed = classify_tag(tag, policy)
    if isinstance(parsed, Reason):
        if parsed is Reason.NOT_A_VERSION and policy.extract is not None:
            return parsed, f"extract '{policy.extract}' finds no comparable value"
        return parsed, parsed.summary
    mismatch = cur.family_mismatch(parsed)
    if mismatch is not None:
        return mismatch
    if parsed.key <= cur.key:
        return (
            Reason.OLDER,
            f"{parsed.label} is not newer than {cur.label}",
        )
    if not policy.in_range(parsed):
        return Reason.OUT_OF_RANGE, f"{parsed.version} is outside {policy.version_range!r}"
    if parsed.pre is not None:
        if cur.pre is None:
            return Reason.PRE_RELEASE, f"pre-release {parsed.pre}; {cur.tag} is a stable release"
        if not parsed.on_line_of(cur):
            return Reason.PRE_RELEASE, f"pre-release {parsed.pre} of another line"
    return parsed
