"""``[[images]]``: one base image to watch, its platforms and how to judge its tags."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from watcher.config.notify import soak_window
from watcher.config.reader import Reader
from watcher.config.schedule import SCHEDULE_KEYS, parse_schedule, parse_tags_interval
from watcher.core.reference import ImageReference, parse_reference
from watcher.core.schedule import Schedule
from watcher.core.tags import TagPolicy
from watcher.core.tags.policy import DEFAULT_POLICY
from watcher.errors import InvalidReference

_PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?")
_TAG_POLICY_KEYS = ("include", "exclude", "strategy", "range", "extract")

IMAGE_KEYS = (
    "ref",
    "platforms",
    "notify_on_first_check",
    "list_tags",
    "soak",
    *SCHEDULE_KEYS,
    *_TAG_POLICY_KEYS,
)


@dataclass(frozen=True)
class TrackedImage:
    """One base image to watch, and how to judge its tags."""

    ref: ImageReference
    platforms: frozenset[str] | None = None
    notify_on_first_check: bool = False
    list_tags: bool = True
    tags: TagPolicy = DEFAULT_POLICY
    soak: float | None = None  # seconds; None: ``[notify] soak``
    schedule: Schedule | None = None  # None: ``[watcher]``'s
    tags_interval: float | None = None  # seconds; None: ``[watcher] tags_interval``


def parse_image(
    reader: Reader,
    item: Mapping[str, Any],
    where: str,
    notify: bool,
    schedule: Schedule | None = None,
) -> TrackedImage:
    """One ``[[images]]`` entry; ``notify`` is ``[watcher]``'s ``notify_on_first_check``,
    ``schedule`` its schedule (an image's own ``timezone`` or ``jitter`` refine it)."""
    reader.keys(item, where, IMAGE_KEYS)
    text = reader.string(item, f"{where}.ref")
    if not text:
        raise reader.error(f"{where}.ref", "is required (for example 'python:3.12-slim')")
    try:
        ref = parse_reference(text)
    except InvalidReference as exc:
        raise reader.error(f"{where}.ref", exc.message) from exc
    platforms = reader.string_list(item, f"{where}.platforms")
    for platform in platforms or ():
        if not _PLATFORM.fullmatch(platform):
            raise reader.error(
                f"{where}.platforms",
                f"{platform!r} is not os/arch[/variant], e.g. 'linux/arm64/v8'",
            )
    tags = _tag_policy(reader, item, where)
    return TrackedImage(
        ref=ref,
        platforms=frozenset(platforms) if platforms else None,
        notify_on_first_check=reader.boolean(item, f"{where}.notify_on_first_check", notify),
        list_tags=reader.boolean(item, f"{where}.list_tags", ref.digest is None),
        tags=tags,
        soak=soak_window(reader, item, f"{where}.soak", None),
        schedule=_own_schedule(reader, item, where, schedule),
        tags_interval=parse_tags_interval(reader, item, where, None),
    )


def _own_schedule(
    reader: Reader, item: Mapping[str, Any], where: str, default: Schedule | None
) -> Schedule | None:
    """The image's schedule when it sets one (built on ``default``), else None."""
    own = parse_schedule(reader, item, where, None)
    if own is None:
        return None
    return parse_schedule(reader, item, where, default)


def _tag_policy(reader: Reader, item: Mapping[str, Any], where: str) -> TagPolicy:
    """The image's tag policy; TagPolicy itself checks the values (its errors start 'key: ')."""
    values = {key: reader.string(item, f"{where}.{key}") for key in _TAG_POLICY_KEYS}
    try:
        return TagPolicy.from_mapping(values)
    except ValueError as exc:
        key, _, message = str(exc).partition(": ")
        if key not in _TAG_POLICY_KEYS:
            raise reader.error(where, str(exc)) from None
        raise reader.error(f"{where}.{key}", message) from None
