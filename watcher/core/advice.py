"""What to do about one place that uses a base image, from what the store knows of it.

- **pin is behind**: ``image:tag@sha256:X`` where the tag now points elsewhere: move the pin
  to the tag's digest (rewritable);
- **update**: a newer version on the same line (``3.12.7-slim`` -> ``3.12.8-slim``): move
  the tag (rewritable); the newest version of the family, on another line, is only said;
- **rebuild**: the tag moved and that change is not acknowledged (``watcher ack``): nothing
  to edit, rebuild;
- **up to date**, or **not tracked** (watcher has no state for this image yet).

An image written with ``$VAR`` (an ``ARG``) is never rewritten: the value comes from the
``ARG``'s default or a build argument, which is where it should be changed. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from watcher.core.changes import ImageState
from watcher.core.reference import ImageReference

PIN_BEHIND = "pin is behind"
UPDATE = "update"
REBUILD = "rebuild"
UP_TO_DATE = "up to date"
NOT_TRACKED = "not tracked"
ACTIONS = (PIN_BEHIND, UPDATE, REBUILD, UP_TO_DATE, NOT_TRACKED)


@dataclass(frozen=True)
class Advice:
    action: str
    reason: str
    new_written: str | None = None  # the image as it should be written, when rewritable
    note: str | None = None         # why it is not rewritten, or what else to know


def tag_reference(image: ImageReference) -> ImageReference:
    """The tag a use follows: ``python:3.12-slim@sha256:...`` follows ``python:3.12-slim``."""
    return replace(image, digest=None) if image.tag is not None else image


def advise_use(image: ImageReference, written: str, state: ImageState | None,
               pending_change: str | None = None) -> Advice:
    """``state`` is the stored state of :func:`tag_reference` (``image`` itself when it is
    pinned without a tag); ``pending_change`` describes its latest digest change not yet
    acknowledged, if any."""
    variable = "$" in written
    if state is None or not state.seen:
        return Advice(NOT_TRACKED, f"watcher has not checked {tag_reference(image)} yet; "
                                   "add it to [[images]] (or run watcher check)")
    newer = state.newer
    if image.digest is not None and image.tag is not None:
        current = {state.digest, *state.platforms.values()}
        if image.digest not in current and state.digest is not None:
            moved = f"{image.tag} moved to {_short(state.digest)}"
            if variable:
                return Advice(PIN_BEHIND, moved, note=_variable_note(written))
            return Advice(PIN_BEHIND, moved, _with_digest(written, state.digest))
        return Advice(UP_TO_DATE, f"pinned to the digest {image.tag} points to")
    if image.digest is not None:
        return Advice(UP_TO_DATE, "pinned by digest, without a tag to follow")
    also = (f"newest: {newer.newest}" if newer.newest and newer.newest != newer.same_line
            else None)
    if newer.same_line and image.tag is not None:
        reason = f"newer version on the same line: {newer.same_line}"
        if variable:
            return Advice(UPDATE, reason, note=_join(_variable_note(written), also))
        rewritten = with_tag(written, image.tag, newer.same_line)
        if rewritten is None:
            return Advice(UPDATE, reason, note=_join("the tag could not be found as written",
                                                     also))
        return Advice(UPDATE, reason, rewritten, also)
    if pending_change is not None:
        return Advice(REBUILD, f"its base moved: {pending_change}", note=also)
    return Advice(UP_TO_DATE, "no newer version known, base unchanged", note=also)


def _short(digest: str | None) -> str:
    if not digest:
        return "(none)"
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}:{hex_part[:12]}"


def _join(*parts: str | None) -> str | None:
    kept = [p for p in parts if p]
    return "; ".join(kept) if kept else None


def _variable_note(written: str) -> str:
    return f"{written} comes from an ARG or variable: change its value there"


_DIGEST = re.compile(r"@[A-Za-z0-9][A-Za-z0-9+._-]*:[0-9a-fA-F]{32,}$")


def without_digest(written: str) -> str:
    """``python:3.12-slim@sha256:...`` -> ``python:3.12-slim``."""
    return _DIGEST.sub("", written)


def _with_digest(written: str, digest: str) -> str:
    """``python:3.12-slim@sha256:old`` -> ``python:3.12-slim@sha256:new``."""
    match = _DIGEST.search(written)
    if match is None:
        return f"{written}@{digest}"
    return written[: match.start()] + "@" + digest


def with_tag(written: str, tag: str, new_tag: str) -> str | None:
    """``python:3.12.7-slim`` -> ``python:3.12.8-slim``: only the tag, as written; None
    when the written form does not end in ``:tag`` (an implied ``latest``)."""
    name = _DIGEST.sub("", written)
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon <= slash or name[colon + 1:] != tag:
        return None
    return name[: colon + 1] + new_tag + written[len(name):]
