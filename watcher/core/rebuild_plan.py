"""What to do, once per dependent, about all the events of one batch.

Each event's notice names the dependents of its image; a round where several bases of one
Dockerfile moved (a multi-stage build whose builder and runtime bases both moved), or where
one file uses several images that changed, would say the same file once per image. The plan
turns that around: one entry per dependent (a file, or a container), naming every base of it
that moved, every newer tag to move to and every tag that was removed:

    Rebuild `app/Dockerfile` once: its bases `golang:1.22` (line 1, stage `build`) and
    `python:3.12-slim` (line 4, stage `runtime`) moved.
      line 1, stage `build`: base `golang:1.22` now equals `1.22.5`; Go 1.22.4 -> 1.22.5; ...
      line 4, stage `runtime`: base `python:3.12-slim` moved; same versions, base refreshed.

The facts are the notices' data (``data.dependents`` and the event's own keys), so the plan
says nothing the events do not. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from watcher.core.rebuild import (
    ENGINE,
    dependent_name,
    move_line,
    moved_words,
    removed_line,
)

DIGEST_CHANGED = "digest_changed"
NEW_VERSION = "new_version"
TAG_REMOVED = "tag_removed"
PLANNED_KINDS = (DIGEST_CHANGED, NEW_VERSION, TAG_REMOVED)


@dataclass(frozen=True)
class NoticeFacts:
    """What the plan reads of one notice: its event id, kind, image and data."""

    event_id: str
    kind: str
    image: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Step:
    """One base of a dependent and what to do about it."""

    kind: str  # digest_changed, new_version or tag_removed
    image: str
    where: str  # ``line 1, stage `build```, or empty for a container
    words: str  # the sentence, without the dependent's name where it repeats it
    event_id: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "image": self.image, "where": self.where,
                "text": self.words, "event_id": self.event_id}


@dataclass(frozen=True)
class DependentPlan:
    """Everything to do about one dependent (a file, or a container) in one batch."""

    source_kind: str
    source: str
    name: str  # ```app/Dockerfile```, ``container `build-host/web```
    steps: tuple[Step, ...]

    @property
    def rebuilds(self) -> list[Step]:
        return [s for s in self.steps if s.kind == DIGEST_CHANGED]

    @property
    def headline(self) -> str:
        """One sentence: rebuild (or recreate) once, naming every base that moved; else
        what to edit."""
        moved = self.rebuilds
        others = [s for s in self.steps if s.kind != DIGEST_CHANGED]
        if moved:
            verb = "Recreate" if self.source_kind == ENGINE else "Rebuild"
            bases = _and([_base(s) for s in moved])
            if len(moved) == 1:
                text = f"{verb} {self.name}: its base {bases} moved."
            else:
                text = f"{verb} {self.name} once: its bases {bases} moved."
            if others:
                text += f" Also {len(others)} tag{'s' if len(others) != 1 else ''} to edit."
            return text
        updates = [s for s in others if s.kind == NEW_VERSION]
        removed = [s for s in others if s.kind == TAG_REMOVED]
        parts = []
        if updates:
            parts.append(f"newer tags for {_and([_base(s) for s in updates])}")
        if removed:
            parts.append(f"removed: {_and([_base(s) for s in removed])}")
        return f"Update {self.name}: " + "; ".join(parts) + "."

    @property
    def lines(self) -> list[str]:
        """One line per step, after the headline."""
        return [f"{s.where}: {s.words}" if s.where and s.kind == DIGEST_CHANGED else s.words
                for s in self.steps]

    def to_json(self) -> dict[str, Any]:
        return {"source_kind": self.source_kind, "source": self.source, "name": self.name,
                "headline": self.headline, "steps": [s.to_json() for s in self.steps]}


def plan_by_dependent(notices: Iterable[NoticeFacts]) -> list[DependentPlan]:
    """One plan per dependent named by ``notices``: those to rebuild first, each group in the
    order the dependents are first named; the steps in the notices' order. A dependent
    using the same image on several lines (two stages ``FROM`` one base) has one step for
    that image, naming the lines."""
    order: list[tuple[str, str, str]] = []
    names: dict[tuple[str, str, str], str] = {}
    found: dict[tuple[str, str, str], dict[tuple[str, str], list[Step]]] = {}
    for notice in notices:
        if notice.kind not in PLANNED_KINDS:
            continue
        for dependent in _dependents(notice.data):
            key = _identity(dependent)
            step = _step(notice, dependent)
            if step is None:
                continue
            if key not in found:
                order.append(key)
                names[key] = dependent_name({**dependent, "stage": None, "context": None})
                found[key] = {}
            found[key].setdefault((step.kind, step.image), []).append(step)
    plans = []
    for key in order:
        steps = tuple(_merged(same) for same in found[key].values())
        plans.append(DependentPlan(key[0], key[1], names[key], steps))
    return sorted(plans, key=lambda plan: not plan.rebuilds)  # stable: named order kept


def _dependents(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    value = data.get("dependents")
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [d for d in value if isinstance(d, Mapping)]
    return []


def _identity(dependent: Mapping[str, Any]) -> tuple[str, str, str]:
    """A file is one dependent whatever its lines; a container is one by its id."""
    kind = str(dependent.get("source_kind") or "")
    source = str(dependent.get("source") or "")
    if kind == ENGINE:
        return kind, source, str(dependent.get("id") or dependent.get("locator") or "")
    return kind, source, str(dependent.get("path") or dependent.get("label") or "")


def _where(dependent: Mapping[str, Any]) -> str:
    """``line 1, stage `build```, ``line 6, service cache``, or empty (a container)."""
    if dependent.get("source_kind") == ENGINE:
        return ""
    parts = []
    line = dependent.get("line")
    if isinstance(line, int) and not isinstance(line, bool) and line > 0:
        parts.append(f"line {line}")
    stage, context = dependent.get("stage"), dependent.get("context")
    if isinstance(stage, str) and stage:
        parts.append(f"stage `{stage}`")
    elif isinstance(context, str) and context:
        parts.append(context)
    return ", ".join(parts)


def _step(notice: NoticeFacts, dependent: Mapping[str, Any]) -> Step | None:
    data = notice.data
    tag = data.get("tag") if isinstance(data.get("tag"), str) else None
    where = _where(dependent)
    if notice.kind == DIGEST_CHANGED:
        explanation = data.get("explanation")
        changed = data.get("changed_platforms")
        platforms = ([str(p) for p, how in changed.items() if how]
                     if isinstance(changed, Mapping) else [])
        listed = data.get("newer_versions")
        offered = ([t for t in listed if isinstance(t, str)]
                   if isinstance(listed, list | tuple) else [])
        newer = offered[-1] if offered and offered[-1] != tag else None
        words = moved_words(notice.image,
                            explanation if isinstance(explanation, Mapping) else None,
                            platforms, newer)
        return Step(notice.kind, notice.image, where, words, notice.event_id)
    if notice.kind == NEW_VERSION:
        same_line, newest = data.get("same_line"), data.get("newest")
        words_or_none = move_line(dependent, notice.image, tag,
                                  same_line if isinstance(same_line, str) else None,
                                  newest if isinstance(newest, str) else None)
        if words_or_none is None:
            return None
        return Step(notice.kind, notice.image, where, words_or_none, notice.event_id)
    return Step(notice.kind, notice.image, where, removed_line(dependent, notice.image),
                notice.event_id)


def _merged(steps: list[Step]) -> Step:
    """The steps of one image on several lines of one file: one step naming the lines."""
    first = steps[0]
    if len(steps) == 1:
        return first
    wheres = list(dict.fromkeys(s.where for s in steps if s.where))
    if first.kind == DIGEST_CHANGED:
        return Step(first.kind, first.image, "; ".join(wheres), first.words, first.event_id)
    words = " ".join(dict.fromkeys(s.words for s in steps))
    return Step(first.kind, first.image, "; ".join(wheres), words, first.event_id)


def _base(step: Step) -> str:
    return f"`{step.image}` ({step.where})" if step.where else f"`{step.image}`"


def _and(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"


__all__ = ["DependentPlan", "NoticeFacts", "Step", "plan_by_dependent"]
