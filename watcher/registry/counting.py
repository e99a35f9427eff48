"""Counting the HTTP requests sent on behalf of one piece of work (a check round).

A context variable, so that every task started inside :func:`counting` (a round's checks, its
shared tag listings, token fetches) adds to the same count, and rounds running at once on one
client each count their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class RequestCount:
    sent: int = 0  # every attempt that went out, retries and token requests included


_current: ContextVar[RequestCount | None] = ContextVar("watcher_request_count", default=None)


@contextmanager
def counting() -> Iterator[RequestCount]:
    """Count the requests sent inside (and by the tasks started inside)."""
    count = RequestCount()
    token = _current.set(count)
    try:
        yield count
    finally:
        _current.reset(token)


def sent_one() -> None:
    count = _current.get()
    if count is not None:
        count.sent += 1


__all__ = ["RequestCount", "counting", "sent_one"]
