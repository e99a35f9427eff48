"""``watcher history REF``: the changes of one image over time."""

from __future__ import annotations

from pathlib import Path

import click

from watcher.cli.common import (
    database_options,
    handle_errors,
    open_existing_store,
    print_json,
    read_config,
    require_tracked,
)
from watcher.cli.output import output_width, table_lines, use_colour
from watcher.core.changes import HistoryKind
from watcher.core.reference import parse_reference
from watcher.views.history import describe_entry, history_document

# Beyond any real history, and within every database's integer range.
MAX_LIMIT = 1_000_000

_COLOURS = {
    HistoryKind.DIGEST_CHANGED: "yellow",
    HistoryKind.NEW_VERSION: "cyan",
    HistoryKind.TAG_REMOVED: "red",
    HistoryKind.FAILING: "red",
    HistoryKind.RECOVERED: "green",
}


@click.command()
@database_options
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=MAX_LIMIT),
    help=f"Show only the last N entries (at most {MAX_LIMIT:,}).",
)
@click.argument("ref")
@handle_errors
def history(
    config_path: Path, database_url: str | None, as_json: bool, limit: int | None, ref: str
) -> None:
    """Show the story of REF: baseline, digest changes, new versions, failures."""
    config = read_config(config_path, database_url, state_only=True)
    canonical = str(parse_reference(ref))
    store = open_existing_store(config, read_only=True)
    try:
        require_tracked(store, canonical)
        entries = store.history(canonical, limit=limit)
    finally:
        store.close()
    if as_json:
        print_json(history_document(canonical, entries))
        return
    lines = table_lines(
        ("WHEN", "WHAT", "DETAILS"),
        [[e.at.strftime("%Y-%m-%d %H:%M:%S"), e.kind.value, describe_entry(e)] for e in entries],
        [_COLOURS.get(e.kind) for e in entries],
        colour=use_colour(),
        width=output_width(),
        shrink=(),
    )
    click.echo("\n".join(lines))
