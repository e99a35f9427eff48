"""``watcher db``: show and upgrade the database schema."""

from __future__ import annotations

from pathlib import Path

import click

from watcher.cli.common import config_option, database_option, handle_errors, read_config
from watcher.store import Store


@click.group()
def db() -> None:
    """Show or upgrade the database schema.

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
