"""``watcher notify test``: one test message through each channel, sent directly.

Nothing is recorded: a test message is not an event, so it never enters the outbox and is
never retried. Every channel gets its message at the same time, each bounded by ``wait`` seconds,
so a channel that hangs cannot hold back the others' answers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from watcher.notify import Batch, Channel, Notice, Outcome

TEST_KIND = "test"
TEST_IMAGE = "watcher-test"


@dataclass(frozen=True)
class ProbeResult:
    """What one channel answered to its test message."""

    channel: str
    outcome: Outcome


def probe_notice(now: datetime) -> Notice:
    """A test notice with a fresh id: receivers that drop duplicates by id keep each test."""
    return Notice(
        event_id=f"test-{uuid.uuid4().hex}",
        kind=TEST_KIND,
        image=TEST_IMAGE,
        time=now,
        summary="Test message from watcher: this channel works.",
        payload={"test": True},
        details=("Sent by `watcher notify test`; no image changed.",),
    )


async def send_probe(
    channels: Sequence[Channel], now: datetime, *, wait: float
) -> list[ProbeResult]:
    """Send one test notice through every channel at once; the results in channel order."""
    batch = Batch.single(probe_notice(now))

    async def one(channel: Channel) -> ProbeResult:
        try:
            outcome = await asyncio.wait_for(channel.send(batch), wait)
        except TimeoutError:
            outcome = Outcome.retry(f"no answer within {wait:g}s")
        return ProbeResult(channel.name, outcome)

    return list(await asyncio.gather(*(one(channel) for channel in channels)))

