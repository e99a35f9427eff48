"""Pure parsers for the response headers a registry client relies on."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """A registry's pull quota as its last response stated it (Docker Hub: ``100;w=21600``).

    ``window`` is in seconds, ``None`` when the header gives none.
    """

    limit: int
    remaining: int | None
    window: float | None


_QUOTA = re.compile(r"\s*(\d+)\s*(?:;(.*))?$")


def _parse_quota(value: str) -> tuple[int, float | None] | None:
    # Several comma-separated policies may appear ("100, 100;w=21600"): take the first.
    match = _QUOTA.match(value.split(",")[0])
    if not match:
        return None
    window: float | None = None
    for param in (match.group(2) or "").split(";"):
        key, _, val = param.strip().partition("=")
        if key.strip().lower() == "w":
            try:
                window = float(val.strip())
            except ValueError:
                window = None
    return int(match.group(1)), window


def parse_rate_limit(limit: str | None, remaining: str | None) -> RateLimit | None:
    """Parse ``RateLimit-Limit`` / ``RateLimit-Remaining``; ``None`` when absent or unreadable."""
    if limit is None:
        return None
    parsed = _parse_quota(limit)
    if parsed is None:
        return None
    quota, window = parsed
    left: int | None = None
    if remaining is not None:
        parsed_remaining = _parse_quota(remaining)
        if parsed_remaining is not None:
            left = parsed_remaining[0]
            window = window if window is not None else parsed_remaining[1]
    return RateLimit(limit=quota, remaining=left, window=window)


_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def parse_link_next(value: str | None) -> str | None:
    """The target of the ``rel="next"`` entry of a ``Link`` header, as written (maybe relative)."""
    if not value:
        return None
    for match in _LINK.finditer(value):
        for param in match.group(2).split(";"):
            key, _, val = param.strip().partition("=")
            if key.strip().lower() == "rel" and "next" in val.strip().strip('"').lower().split():
                return match.group(1).strip()
    return None
