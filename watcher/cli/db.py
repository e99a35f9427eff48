"""``watcher db``: the database's schema (upgrade, current), its size (stats) and retention
(prune)."""

from __future__ import annotations

import math
from pathlib import Path

import click

from watcher.cli.common import (
    config_option,
    database_option,
    handle_errors,
    open_existing_store,
    print_json,
    read_config,
)
from watcher.cli.output import table
from watcher.config import Config, format_duration, parse_duration
from watcher.config.file import KEEP_FOREVER, MIN_KEEP_HISTORY
from watcher.core.retention import cutoff
from watcher.store import PruneCounts, Store, mask_url
from watcher.views.database import counts_text, prune_document, size_text, stats_document


@click.group()
def db() -> None:
    """Upgrade the database schema, show its size, prune old history.

    A relative SQLite path (sqlite:///watcher.db) is relative to the config file's directory
    when it comes from the config file, and to the current directory with --database.
    """


@db.command()
@config_option
@database_option
@handle_errors
def upgrade(config_path: Path, database_url: str | None) -> None:
    """Apply this watcher's migrations; print the revision before and after."""
    url = read_config(config_path, database_url, state_only=True).database
    with Store.connect(url) as store:
        # Read under the migration lock: of replicas started together, one says "upgraded".
        before, after = store.upgrade()
        where = store.url
    if before == after:
        click.echo(f"{where}: already at revision {after} (head)")
    else:
        click.echo(f"{where}: upgraded from revision {before or 'none (empty)'} to {after}")


@db.command()
@config_option
@database_option
@handle_errors
def current(config_path: Path, database_url: str | None) -> None:
    """Print the database's schema revision, and how it compares with this watcher's."""
    url = read_config(config_path, database_url, state_only=True).database
    with Store.connect(url) as store:
        revision = store.current_revision()
    head = Store.head_revision()
    if revision is None:
        click.echo("none (empty database: run `watcher db upgrade`)")
    elif revision == head:
        click.echo(f"{revision} (head)")
    elif revision in Store.revisions():
        click.echo(f"{revision} (behind {head}: run `watcher db upgrade`)")
    else:
        click.echo(f"{revision} (unknown: migrated by a newer watcher; this one's head is {head})")


def _keep(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """``--keep``: a duration, or "forever"; None when not given (the config's is used)."""
    if value is None:
        return None
    if value.strip().lower() in KEEP_FOREVER:
        return math.inf
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    if seconds < MIN_KEEP_HISTORY:
        raise click.BadParameter("must be at least 1d (or 'forever')", ctx, param)
    return seconds


keep_option = click.option(
    "--keep", "keep", metavar="DURATION", callback=_keep,
    help="Keep this much history instead of [watcher] keep_history (e.g. 90d, or forever).",
)


def _retention(config: Config, keep: float | None) -> float | None:
    if keep is None:
        return config.keep_history
    return None if math.isinf(keep) else keep


@db.command()
@config_option
@database_option
@keep_option
@click.option("--dry-run", is_flag=True, help="Only count what would be pruned.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
@handle_errors
def prune(config_path: Path, database_url: str | None, keep: float | None, dry_run: bool,
          as_json: bool) -> None:
    """Delete history and events older than keep_history, as the daemon does every hour.

    Never deleted: the images' current state, events not acknowledged or with a delivery
    not done (pending, failed, expired), the newest history row of each kind of each image,
    and the history rows of kept events. Rows go in batches of 500 per transaction, so a
    daemon running beside it keeps recording.
    """
    config = read_config(config_path, database_url, state_only=True)
    before = cutoff(_retention(config, keep))
    with open_existing_store(config) as store:
        if before is None:
            counts = PruneCounts()
        elif dry_run:
            counts = store.prunable(before)
        else:
            counts = store.prune(before)
    if as_json:
        print_json(prune_document(counts, before, dry_run=dry_run))
        return
    if before is None:
        click.echo("keep_history is forever: nothing is pruned")
        return
    verb = "would prune" if dry_run else "pruned"
    click.echo(f"{verb} {counts_text(counts)} older than {before:%Y-%m-%d %H:%M:%S} UTC")


@db.command()
@config_option
@database_option
@keep_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
@handle_errors
def stats(config_path: Path, database_url: str | None, keep: float | None,
          as_json: bool) -> None:
    """Rows per table, the span of history, the database's size, and what retention would
    prune now."""
    config = read_config(config_path, database_url, state_only=True)
    retention = _retention(config, keep)
    before = cutoff(retention)
    with open_existing_store(config, read_only=True) as store:
        found = store.stats()
        prunable = None if before is None else store.prunable(before)
    where = mask_url(config.database)
    if as_json:
        print_json(stats_document(found, where, retention, prunable, before))
        return
    click.echo(f"database  {where} ({found.backend})")
    size = size_text(found.size)
    if found.free:
        size += f" ({size_text(found.free)} free, reused by later writes)"
    if found.wal:
        size += f", write-ahead log {size_text(found.wal)}"
    click.echo(f"size      {size}")
    rows = [(name, f"{count:,}", size_text(found.table_sizes[name])
             if name in found.table_sizes else "") for name, count in found.rows.items()]
    click.echo(table(["TABLE", "ROWS", "SIZE" if found.table_sizes else ""], rows,
                     colour=False, width=None).rstrip())
    click.echo(f"images    {found.active_images:,} active, "
               f"{found.rows['images'] - found.active_images:,} inactive")
    click.echo(f"events    {found.pending_events:,} pending (not acknowledged)")
    span = "none yet"
    if found.oldest_history and found.newest_history:
        span = (f"{found.oldest_history:%Y-%m-%d %H:%M:%S} to "
                f"{found.newest_history:%Y-%m-%d %H:%M:%S} UTC")
    click.echo(f"history   {span}")
    if before is None or retention is None or prunable is None:
        click.echo("retention keep_history = forever: nothing is pruned")
    else:
        click.echo(f"retention keep_history = {format_duration(retention)}: would prune "
                   f"{counts_text(prunable)} now")
