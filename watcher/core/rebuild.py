"""What to rebuild, in words: one line per dependent of an image whose tag moved.

    Rebuild `app/Dockerfile` (stage `runtime`): base `python:3.12-slim` now equals
    `3.12.8-slim-bookworm`; Python 3.12.7 -> 3.12.8; openssl 3.0.13 -> 3.0.14; linux/amd64
    and linux/arm64; 2 of 4 layers changed. Newer line available: 3.13-slim.

The facts come from the event (its ``explanation`` and changed platforms) and from the
dependent's link details (a files source's path and stage, an engine's host and container).
Pure: the same facts give the same words, and odd values are left out, never raised on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from watcher.core.advice import with_tag, without_digest
from watcher.core.explain import version_word
from watcher.core.sbom import describe_packages

FILES = "files"
ENGINE = "engine"
SHOWN_VERSIONS = 4


def dependent_document(kind: str, source: str, locator: str, label: str,
                       details: Mapping[str, Any]) -> dict[str, Any]:
    """A dependent as notices carry it (``data.dependents[]``): what it is and where, the
    reference as written and, for a Dockerfile, its line and stage."""
    document: dict[str, Any] = {"source_kind": kind, "source": source, "locator": locator,
                                "label": label}
    if kind == FILES:
        for key in ("path", "line", "stage", "context", "written", "reference", "pinned",
                    "platform", "builds"):
            document[key] = details.get(key)
    elif kind == ENGINE:
        document.update(host=source, name=label, id=locator,
                        platform=details.get("platform"), state=details.get("state"))
    return document


def dependent_name(dependent: Mapping[str, Any]) -> str:
    """```app/Dockerfile` (stage `runtime`)``, ``container `build-host/web```, or
    ```deploy/web.yaml` (deployment/web container web)``."""
    kind = dependent.get("source_kind")
    if kind == ENGINE:
        return f"container `{dependent.get('host')}/{dependent.get('name')}`"
    path = dependent.get("path") or dependent.get("label") or "?"
    stage, context = dependent.get("stage"), dependent.get("context")
    if isinstance(stage, str) and stage:
        return f"`{path}` (stage `{stage}`)"
    if isinstance(context, str) and context:
        return f"`{path}` ({context})"
    return f"`{path}`"


def rebuild_line(dependent: Mapping[str, Any], base: str,
                 explanation: Mapping[str, Any] | None, changed_platforms: Sequence[str] = (),
                 newer: str | None = None) -> str:
    """What to do about one dependent of ``base``, whose tag moved."""
    verb = "Recreate" if dependent.get("source_kind") == ENGINE else "Rebuild"
    said = moved_words(base, explanation, changed_platforms, newer)
    return f"{verb} {dependent_name(dependent)}: {said}"


def moved_words(base: str, explanation: Mapping[str, Any] | None,
                changed_platforms: Sequence[str] = (), newer: str | None = None) -> str:
    """``base `python:3.12-slim` now equals `3.12.8-slim-bookworm`; Python 3.12.7 -> 3.12.8;
    ...; linux/amd64 and linux/arm64; 2 of 4 layers changed. Newer line available: 3.13-slim.``"""
    facts = explanation or {}
    tag = facts.get("tag")
    head = f"base `{base}`"
    head += f" now equals `{tag}`" if isinstance(tag, str) and tag else " moved"
    parts = [head]
    versions = facts.get("versions")
    if isinstance(versions, Mapping):
        for name, pair in list(versions.items())[:SHOWN_VERSIONS]:
            if isinstance(pair, list | tuple) and len(pair) == 2:
                parts.append(f"{version_word(str(name))} {pair[0] or '(none)'} -> "
                             f"{pair[1] or '(none)'}")
    if explanation and not (isinstance(versions, Mapping) and versions):
        parts.append("same versions, base refreshed")
    packages = facts.get("packages")
    if isinstance(packages, Mapping) and (said := describe_packages(packages)):
        parts.append(said)
    platforms = [p for p in changed_platforms if isinstance(p, str) and p]
    if platforms:
        parts.append(_and(platforms))
    layers = facts.get("layers")
    if isinstance(layers, Mapping):
        changed, total = layers.get("changed"), layers.get("total")
        if _count(changed) and _count(total):
            parts.append(f"{changed} of {total} layers changed")
    text = "; ".join(parts) + "."
    rebase = facts.get("rebase")
    if isinstance(rebase, str) and rebase:
        text += f" Rebase available: {rebase}."
    if newer:
        text += f" Newer line available: {newer}."
    return text


def dependent_place(dependent: Mapping[str, Any]) -> str:
    """```app/Dockerfile` line 3 (stage `runtime`)``, or ``container `build-host/web```:
    the place to edit."""
    if dependent.get("source_kind") == ENGINE:
        return dependent_name(dependent)
    path = dependent.get("path") or dependent.get("label") or "?"
    line = dependent.get("line")
    place = f"`{path}` line {line}" if _count(line) and line else f"`{path}`"
    stage, context = dependent.get("stage"), dependent.get("context")
    if isinstance(stage, str) and stage:
        return f"{place} (stage `{stage}`)"
    if isinstance(context, str) and context:
        return f"{place} ({context})"
    return place


def move_line(dependent: Mapping[str, Any], base: str, tag: str | None,
              same_line: str | None, newest: str | None) -> str | None:
    """What to edit about one dependent of ``base`` when a newer tag appeared, as
    ``watcher advise`` would: ``Move `app/Dockerfile` line 3 from `python:3.12.7-slim` to
    `python:3.12.8-slim` (newer on the same line; newest: 3.13-slim).`` The newer version
    on the same line is proposed first; without one, the newest (on another line). None
    when there is nothing to move to (no tag, no newer tag)."""
    target = same_line or newest
    if not tag or not target or target == tag:
        return None
    written = dependent.get("written")
    if dependent.get("source_kind") == ENGINE or not isinstance(written, str) or not written:
        written = base
    variable = "$" in written
    shown = base if variable else written
    pinned = without_digest(shown) != shown
    new = with_tag(without_digest(shown), tag, target) or with_tag(base, tag, target)
    if new is None:  # the tag is implied (``python`` for ``python:latest``)
        new = f"{without_digest(shown)}:{target}"
    notes = ["newer on the same line" if target == same_line else "a newer line"]
    if same_line and newest and newest not in (same_line, tag):
        notes.append(f"newest: {newest}")
    if variable:
        notes.append(f"`{written}` comes from an ARG or variable: change its value there")
    if pinned:
        notes.append("pin the new tag's digest")
    return (f"Move {dependent_place(dependent)} from `{shown}` to `{new}` "
            f"({'; '.join(notes)}).")


def removed_line(dependent: Mapping[str, Any], base: str) -> str:
    """``Pick another tag for `app/Dockerfile` line 3: `python:3.11-slim` was removed from its
    registry.``"""
    return (f"Pick another tag for {dependent_place(dependent)}: `{base}` was removed from "
            "its registry.")


def classes_of(explanation: Mapping[str, Any] | None) -> list[str]:
    """The change's classes (``patch``, ``rebase``, ...): empty when unexplained."""
    if not explanation:
        return []
    found = explanation.get("classes")
    if isinstance(found, list | tuple):
        return [str(c) for c in found if isinstance(c, str)]
    change = explanation.get("change")
    return [change] if isinstance(change, str) and change else []


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _and(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"


__all__ = ["classes_of", "dependent_document", "dependent_name", "dependent_place",
           "move_line", "moved_words", "rebuild_line", "removed_line"]
