"""``watcher status`` and ``watcher ack``: what needs attention, read from the database only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from watcher.cli.common import (
    EXIT_OK,
    EXIT_PROBLEM,
    config_option,
    database_option,
    handle_errors,
    json_option,
    open_existing_store,
    print_json,
    read_config,
)
from watcher.cli.output import output_width, use_colour
from watcher.cli.status_text import render_status
from watcher.core.reference import parse_reference
from watcher.core.status import Attention, attention
from watcher.store import ImageStatus


@click.command()
@config_option
@database_option
@json_option
@click.option(
    "--all", "include_inactive", is_flag=True, help="Include images no longer configured."
)
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit 1 when some image needs a rebuild or has a newer version (for CI).",
)
@handle_errors
def status(
    config_path: Path,
    database_url: str | None,
    as_json: bool,
    include_inactive: bool,
    exit_code: bool,
) -> None:
    """Show every tracked image, what needs attention first.

    Reads the database only; it never contacts a registry.
    """
    config = read_config(config_path, database_url, state_only=True)
    store = open_existing_store(config, read_only=True)
    try:
        statuses = store.statuses(include_inactive=include_inactive)
    finally:
        store.close()
    rows = sorted(
        ((attention(s.state, [p.kind for p in s.pending]), s) for s in statuses),
        key=lambda pair: (pair[0].rank, pair[1].state.ref),
    )
    now = datetime.now(UTC)
    if as_json:
        print_json(
            {
                "images": [status_document(a, s) for a, s in rows],
                "summary": {a.value: sum(1 for b, _ in rows if b is a) for a in Attention},
            }
        )
    elif not rows:
        click.echo("No images tracked yet: run `watcher check`.")
    else:
        click.echo(render_status(rows, now, colour=use_colour(), width=output_width()))
    attention_needed = any(
        a in (Attention.REBUILD_NEEDED, Attention.NEWER_VERSION) for a, _ in rows
    )
    raise SystemExit(EXIT_PROBLEM if exit_code and attention_needed else EXIT_OK)


def status_document(level: Attention, item: ImageStatus) -> dict[str, Any]:
    state = item.state
    return {
        "ref": state.ref,
        "status": level.value,
        "active": item.active,
        "digest": state.digest,
        "platforms": dict(state.platforms),
        "last_changed_at": _iso(state.last_changed_at),
        "last_checked_at": _iso(state.last_checked_at),
        "newer": {"same_line": state.newer.same_line, "newest": state.newer.newest},
        "failing": {
            "count": state.failure_count,
            "since": _iso(state.failing_since),
            "last_error": state.last_error,
            "status": state.last_error_status,
        }
        if state.failing
        else None,
        "pending_events": [
            {"id": p.id, "kind": p.kind.value, "created_at": _iso(p.created_at)}
            for p in item.pending
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@click.command()
@config_option
@database_option
@click.argument("ref")
@handle_errors
def ack(config_path: Path, database_url: str | None, ref: str) -> None:
    """Acknowledge REF's pending events: you rebuilt, or chose not to."""
    config = read_config(config_path, database_url, state_only=True)
    canonical = str(parse_reference(ref))
    store = open_existing_store(config)
    try:
        if store.load_state(canonical) is None:
            raise click.BadParameter(f"{canonical} is not tracked", param_hint="REF")
        count = store.acknowledge(canonical)
    finally:
        store.close()
    click.echo(f"{canonical}: acknowledged {count} pending event{'s' if count != 1 else ''}")
