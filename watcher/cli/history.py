"""``watcher history REF``: the changes of one image over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from watcher.cli.common import (
    config_option,
    database_option,
    handle_errors,
    json_option,
    open_existing_store,
    print_json,
    read_config,
)
from watcher.cli.output import output_width, short_digest, table_lines, use_colour
from watcher.core.changes import HistoryEntry, HistoryKind
from watcher.core.reference import parse_reference

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
@config_option
@database_option
@json_option
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
        if store.load_state(canonical) is None:
            raise click.BadParameter(f"{canonical} is not tracked", param_hint="REF")
        entries = store.history(canonical, limit=limit)
    finally:
        store.close()
    if as_json:
        print_json({"ref": canonical, "history": [entry_document(e) for e in entries]})
        return
    lines = table_lines(
        ("WHEN", "WHAT", "DETAILS"),
        [[e.at.strftime("%Y-%m-%d %H:%M:%S"), e.kind.value, describe(e)] for e in entries],
        [_COLOURS.get(e.kind) for e in entries],
        colour=use_colour(),
        width=output_width(),
        shrink=(),
    )
    click.echo("\n".join(lines))


def entry_document(entry: HistoryEntry) -> dict[str, Any]:
    return {"at": entry.at.isoformat(), "kind": entry.kind.value, **entry.data}


def describe(entry: HistoryEntry) -> str:
    data = entry.data
    match entry.kind:
        case HistoryKind.BASELINE:
            platforms = ", ".join(sorted(data.get("platforms", {})))
            return f"{short_digest(data.get('digest'))}" + (f" ({platforms})" if platforms else "")
        case HistoryKind.DIGEST_CHANGED:
            changed = ", ".join(
                f"{p} {how}" for p, how in data.get("changed_platforms", {}).items()
            )
            text = (
                f"{short_digest(data.get('old_digest'))} -> {short_digest(data.get('new_digest'))}"
            )
            if data.get("unwatched_only"):
                return text + " (only platforms not watched)"
            return text + (f" ({changed})" if changed else "")
        case HistoryKind.INDEX_CHANGED:
            return (
                f"{short_digest(data.get('old_digest'))} -> {short_digest(data.get('new_digest'))}"
                " (index only: no platform image changed)"
            )
        case HistoryKind.NEW_VERSION:
            return (
                f"newer: {', '.join(data.get('new', []))} "
                f"(same line {data.get('same_line') or '-'}, newest {data.get('newest') or '-'})"
            )
        case HistoryKind.TAG_REMOVED:
            return f"tag no longer exists (was {short_digest(data.get('tag_digest'))})"
        case HistoryKind.TAG_RESTORED:
            return f"tag exists again at {short_digest(data.get('digest'))}"
        case HistoryKind.FAILING:
            return f"checks failing: {data.get('error')}"
        case HistoryKind.RECOVERED:
            return f"checks succeed again after {data.get('failures')} failure(s)"
