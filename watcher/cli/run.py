"""``watcher run``: the daemon."""

from __future__ import annotations

from pathlib import Path

import click

from watcher.cli.common import (
    LogSettings,
    config_option,
    database_option,
    handle_errors,
    read_config,
)
from watcher.logs import configure_logging


@click.command()
@config_option
@database_option
@click.pass_obj
@handle_errors
def run(logs: LogSettings, config_path: Path, database_url: str | None) -> None:
    """Run the daemon: check the configured images every [watcher] interval."""
    configure_logging(logs.level or "info", json=logs.json)
    config = read_config(config_path, database_url)
    if not config.images:
        raise click.UsageError(f"{config_path}: no [[images]] to watch")
    from watcher.daemon import run_daemon  # the scheduler and registry client, only when run

    run_daemon(config)
