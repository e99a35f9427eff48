"""``watcher notify test``: one test message through each channel, sent directly.

Nothing is recorded: a test message is not an event, so it never enters the outbox and is
never retried. Every channel gets its message at the same time, each bounded by ``wait`` seconds,
so a channel that hangs cannot hold back the others' answers.

``build_channel`` turns a ``[notify]`` entry into its channel; the channel modules are imported
only for the kinds configured (Apprise is an optional extra).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from watcher.config.notify import (
    AppriseSettings,
    ChannelConfig,
    CommandSettings,
    EmailSettings,
    WebhookSettings,
)
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


def build_channel(channel: ChannelConfig, templates: Path | None = None) -> Channel:
    """The channel a config entry describes (``ChannelError`` when it cannot be built, e.g.
    Apprise not installed)."""
    from watcher.notify.wording import Templates

    settings, name, grouped = channel.settings, channel.name, channel.route.grouped
    wording = Templates(templates)
    match settings:
        case WebhookSettings():
            from watcher.notify.webhook import WebhookChannel

            return WebhookChannel(settings.url, name=name, secret=settings.secret,
                                  headers=settings.headers, source=settings.source,
                                  grouped=grouped, timeout=settings.timeout)
        case EmailSettings():
            from watcher.notify.email import EmailChannel, Security

            return EmailChannel(host=settings.host, port=settings.port, sender=settings.sender,
                                recipients=settings.recipients,
                                security=Security(settings.security),
                                username=settings.username, password=settings.password,
                                timeout=settings.timeout, name=name, templates=wording)
        case CommandSettings():
            from watcher.notify.command import CommandChannel

            return CommandChannel(settings.argv, name=name, timeout=settings.timeout,
                                  grouped=grouped, env=settings.env, cwd=settings.cwd)
        case AppriseSettings():
            from watcher.notify.apprise_channel import AppriseChannel

            return AppriseChannel(settings.url, name=name, grouped=grouped, templates=wording)
    raise AssertionError(f"unknown channel settings {type(settings).__name__}")
