"""``watcher db``: show and upgrade the database schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from watcher.config import load_config
from watcher.errors import ConfigError, WatcherError
from watcher.store import Store

F = TypeVar("F", bound=Callable[..., Any])


class ConfigProblem(click.ClickException):
    """The configuration cannot be used: exit status 2, like a usage error."""

    exit_code = 2


def database_options(command: F) -> F:
    command = click.option(
        "--database",
        "database_url",
        metavar="URL",
        envvar="WATCHER_DATABASE",
        help="Database URL, overriding [watcher] database (also $WATCHER_DATABASE).",
    )(command)
    return click.option(
        "--config",
        "-c",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default="watcher.toml",
        show_default=True,
        envvar="WATCHER_CONFIG",
        help="Configuration file (also $WATCHER_CONFIG).",
    )(command)


def resolve_database_url(config_path: Path, url: str | None) -> str:
    """``--database`` wins; otherwise ``[watcher] database`` from the config file."""
    if url:
        return url
    try:
        return load_config(config_path).database
    except ConfigError as exc:
        raise ConfigProblem(exc.message) from exc


@click.group()
def db() -> None:
    """Show or upgrade the database schema.

    A relative SQLite path in a URL (sqlite:///watcher.db) is relative to the current
    directory.
    """


@db.command()
@database_options
def upgrade(config_path: Path, database_url: str | None) -> None:
    """Apply this watcher's migrations; print the revision before and after."""
    url = resolve_database_url(config_path, database_url)
    try:
        with Store.connect(url) as store:
            before = store.current_revision()
            store.upgrade()
            after = store.current_revision()
            where = store.url
    except WatcherError as exc:
        raise click.ClickException(exc.message) from exc
    if before == after:
        click.echo(f"{where}: already at revision {after} (head)")
    else:
        click.echo(f"{where}: upgraded from revision {before or 'none (empty)'} to {after}")


@db.command()
@database_options
def current(config_path: Path, database_url: str | None) -> None:
    """Print the database's schema revision, and how it compares with this watcher's."""
    url = resolve_database_url(config_path, database_url)
    try:
        with Store.connect(url) as store:
            revision = store.current_revision()
    except WatcherError as exc:
        raise click.ClickException(exc.message) from exc
    head = Store.head_revision()
    if revision is None:
        click.echo("none (empty database: run `watcher db upgrade`)")
    elif revision == head:
        click.echo(f"{revision} (head)")
    elif revision in Store.revisions():
        click.echo(f"{revision} (behind {head}: run `watcher db upgrade`)")
    else:
        click.echo(f"{revision} (unknown: migrated by a newer watcher; this one's head is {head})")
