"""``watcher notify test [CHANNEL]``: a test message through each configured channel, directly.

Nothing is recorded: the message does not go through the outbox and is never retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import click

from watcher.cli.common import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, config_option, fail, handle_errors
from watcher.config import load_config
from watcher.config.notify import ChannelConfig
from watcher.notify import Outcome, OutcomeKind
from watcher.terminal import printable

# Longer than any channel's own timeout default would make a hanging channel hold the answer.
DEFAULT_WAIT = 60.0


@click.group()
def notify() -> None:
    """Notification channels: try them."""


@notify.command("test")
@config_option
@click.option(
    "--timeout",
    "wait",
    type=click.FloatRange(min=0.1, max=3600),
    default=DEFAULT_WAIT,
    show_default=True,
    help="Seconds to wait for each channel.",
)
@click.argument("channel", required=False)
@handle_errors
def test(config_path: Path, wait: float, channel: str | None) -> None:
    """Send a test message through each configured channel (or CHANNEL) and say what happened.

    Nothing is recorded. Exit 0 when every channel delivered it, 1 otherwise.
    """
    # The channels (and so the HTTP stack) are loaded for this command only.
    from watcher.service.delivery import build_channels
    from watcher.service.probe import ProbeResult, send_probe

    config = load_config(config_path)
    chosen = select(config.channels, channel)
    channels, problems = build_channels(config)
    answers: dict[str, ProbeResult] = {
        # e.g. Apprise not installed: reported, and the other channels are still tried
        name: ProbeResult(name, Outcome.failed(problem)) for name, problem in problems.items()
    }
    built = [channels[entry.name] for entry in chosen if entry.name in channels]
    for result in asyncio.run(send_probe(built, datetime.now(UTC), wait=wait)):
        answers[result.channel] = result
    results = [answers[entry.name] for entry in chosen]
    width = max(len(printable(r.channel)) for r in results)
    for result in results:
        click.echo(f"{printable(result.channel).ljust(width)}  {printable(str(result.outcome))}")
    delivered = all(r.outcome.kind is OutcomeKind.DELIVERED for r in results)
    raise SystemExit(EXIT_OK if delivered else EXIT_PROBLEM)


def select(channels: Sequence[ChannelConfig], name: str | None) -> list[ChannelConfig]:
    """Every channel, or the one named; a usage error naming the known ones otherwise."""
    if not channels:
        fail(
            "no notification channels configured: add [[notify.webhook]], [notify.email], "
            "[[notify.command]] or [[notify.apprise]] to the config",
            EXIT_USAGE,
        )
    if name is None:
        return list(channels)
    chosen = [c for c in channels if c.name == name]
    if not chosen:
        known = ", ".join(c.name for c in channels)
        fail(f"no channel named {name!r}; the configured channels: {known}", EXIT_USAGE)
    return chosen
