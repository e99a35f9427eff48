"""``watcher events``: events with their delivery to each channel; ``events retry`` re-queues.

The documents and wording come from ``watcher.views.events``; this module reads the store and
lays them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from watcher.cli.common import (
    config_option,
    database_option,
    database_options,
    handle_errors,
    open_existing_store,
    print_json,
    read_config,
    require_tracked,
)
from watcher.cli.output import elide, output_width, table_lines, use_colour
from watcher.core.reference import parse_reference
from watcher.errors import WatcherError
from watcher.store import Delivery, DeliveryState, Store
from watcher.terminal import printable
from watcher.views.events import (
    RETRYABLE_STATES,
    EventDeliveries,
    by_event,
    delivery_note,
    events_document,
    next_attempt,
    selected_states,
)

MAX_LIMIT = 1_000_000
HEADERS = ("ID", "EVENT", "IMAGE", "KIND", "CHANNEL", "STATE", "TRIES", "NEXT")
_COLOURS = {
    DeliveryState.PENDING: "yellow",
    DeliveryState.DELIVERED: "green",
    DeliveryState.FAILED: "red",
    DeliveryState.EXPIRED: "red",
    DeliveryState.SUPERSEDED: None,
}
_INDENT = "    "
# An event id prefix shorter than this names too many events to be meant.
MIN_PREFIX = 4


class _EventsGroup(click.Group):
    """``watcher events [OPTIONS] [REF]`` lists; ``watcher events retry ID`` re-queues.

    Anything that is not a subcommand's name is the listing's: ``watcher events --failed``
    is ``watcher events list --failed``.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["list", *args]
        elif not args:
            args = ["list"]
        return super().parse_args(ctx, args)


@click.group(cls=_EventsGroup)
def events() -> None:
    """List events and their deliveries (the default), or re-queue a failed delivery.

    `watcher events [--pending|--failed] [--json] [REF]` lists; `watcher events retry ID`
    re-queues.
    """


@events.command("list")
@database_options
@click.option("--pending", is_flag=True, help="Only deliveries not yet sent (soaking or retrying).")
@click.option("--failed", is_flag=True, help="Only deliveries that failed or expired.")
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=MAX_LIMIT),
    help="Show only the latest N events.",
)
@click.argument("ref", required=False)
@handle_errors
def list_events(
    config_path: Path,
    database_url: str | None,
    as_json: bool,
    pending: bool,
    failed: bool,
    limit: int | None,
    ref: str | None,
) -> None:
    """List events with each channel's delivery: state, attempts, next attempt, last error.

    REF: only this image's events. Reads the database only.
    """
    config = read_config(config_path, database_url, state_only=True)
    canonical = str(parse_reference(ref)) if ref else None
    states = selected_states(pending=pending, failed=failed)
    store = open_existing_store(config, read_only=True)
    try:
        if canonical is not None:
            require_tracked(store, canonical)
        deliveries = store.deliveries(
            states=None if states is None else frozenset(DeliveryState(s) for s in states),
            ref=canonical,
        )
    finally:
        store.close()
    groups = by_event(deliveries, limit=limit)
    if as_json:
        print_json(events_document(groups))
    elif not groups:
        click.echo(_nothing(pending=pending, failed=failed))
    else:
        click.echo(render_events(groups, datetime.now(UTC), colour=use_colour(),
                                 width=output_width()))


def _nothing(*, pending: bool, failed: bool) -> str:
    if pending or failed:
        return "No deliveries in that state."
    return "No deliveries recorded: events are delivered to the channels under [notify]."


def render_events(
    groups: Sequence[EventDeliveries], now: datetime, *, colour: bool, width: int | None
) -> str:
    """One row per delivery; its last error (or note) indented below, escaped."""
    rows: list[list[str]] = []
    styles: list[str | None] = []
    notes: list[str | None] = []
    for group in groups:
        event = group.event
        for delivery in group.deliveries:
            rows.append([
                str(delivery.id),
                event.id[:8],
                event.ref,
                event.kind.label,
                delivery.channel,
                str(delivery.state),
                str(delivery.attempts),
                next_attempt(delivery, now),
            ])
            styles.append(_COLOURS.get(DeliveryState(delivery.state)))
            notes.append(delivery_note(delivery))
    lines = table_lines(HEADERS, rows, styles, colour=colour, width=width, shrink=(2, 4))
    out = [lines[0]]
    for line, note in zip(lines[1:], notes, strict=True):
        out.append(line)
        if note:
            text = _INDENT + printable(note)
            out.append(elide(text, width) if width is not None else text)
    return "\n".join(out)


@events.command("retry")
@config_option
@database_option
@click.argument("target", metavar="ID")
@handle_errors
def retry(config_path: Path, database_url: str | None, target: str) -> None:
    """Re-queue a failed or expired delivery, due now with a fresh retry window.

    ID: a delivery id as `watcher events` shows it, or an event id (or a prefix of one) to
    re-queue every failed or expired delivery of that event.
    """
    config = read_config(config_path, database_url, state_only=True)
    store = open_existing_store(config)
    try:
        queued = _retry(store, target.strip(), datetime.now(UTC))
    finally:
        store.close()
    for delivery in queued:
        click.echo(
            f"delivery {delivery.id} ({printable(delivery.channel)}, "
            f"{printable(delivery.event.ref)}): re-queued, due now"
        )


def _retry(store: Store, target: str, now: datetime) -> list[Delivery]:
    if target.isdigit():
        return [store.retry_delivery(int(target), now)]
    if len(target) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in target.lower()):
        raise click.BadParameter(
            f"{target!r} is neither a delivery id (a number) nor an event id "
            f"(at least {MIN_PREFIX} hex digits): see `watcher events`",
            param_hint="ID",
        )
    prefix = target.lower()
    matching = [d for d in store.deliveries() if d.event.id.startswith(prefix)]
    event_ids = sorted({d.event.id for d in matching})
    if not event_ids:
        raise WatcherError(f"no event id starts with {prefix!r}: see `watcher events`")
    if len(event_ids) > 1:
        shown = ", ".join(event_ids[:5]) + (", ..." if len(event_ids) > 5 else "")
        raise click.BadParameter(
            f"{prefix!r} starts {len(event_ids)} event ids ({shown}): give more of it",
            param_hint="ID",
        )
    retryable = [d for d in matching if str(d.state) in RETRYABLE_STATES]
    if not retryable:
        states = ", ".join(f"{d.channel} {d.state}" for d in sorted(matching, key=_key))
        raise WatcherError(
            f"event {event_ids[0]} has no failed or expired delivery ({states}): "
            "nothing to re-queue"
        )
    return [store.retry_delivery(d.id, now) for d in sorted(retryable, key=_key)]


def _key(delivery: Any) -> tuple[str, int]:
    return (delivery.channel, delivery.id)
