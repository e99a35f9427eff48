"""Folding identical failures: a registry that is down fails every image of it alike, and is
told once, with the number of images, rather than once per image.

Errors name the image first (``REF on REGISTRY: message``, ``watcher.errors.RegistryError``);
what follows is what is compared. An error that names its image anywhere else is that
image's own and is never folded with another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FailureGroup:
    """One error of one registry and the images that failed with it, in the order seen."""

    registry: str
    error: str  # without the image, when folded; the whole message otherwise
    refs: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.refs)


def without_image(ref: str, registry: str, error: str) -> str | None:
    """``error`` without its ``REF on REGISTRY: `` prefix; None when it does not start with
    it or names the image again further on (then it is not the same for other images)."""
    prefix = f"{ref} on {registry}: "
    if not error.startswith(prefix):
        return None
    message = error[len(prefix):]
    return None if ref in message else message


def fold_failures(failures: Iterable[tuple[str, str, str]]) -> list[FailureGroup]:
    """``(ref, registry, error)`` triples -> one group per (registry, error without image),
    in the order their first image was seen; an error of the image's own is a group of one."""
    groups: dict[tuple[str, str, str | None], list[str]] = {}
    for ref, registry, error in failures:
        message = without_image(ref, registry, error)
        key = (registry, message, None) if message is not None else (registry, error, ref)
        groups.setdefault(key, []).append(ref)
    return [FailureGroup(registry, message, tuple(refs))
            for (registry, message, _), refs in groups.items()]


__all__ = ["FailureGroup", "fold_failures", "without_image"]
