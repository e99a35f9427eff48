"""``watcher run``: the daemon."""

from __future__ import annotations

from pathlib import Path

import click

from watcher.cli.common import config_option, database_option, handle_errors, read_config
from watcher.daemon import run_daemon
from watcher.logs import configure_logging


@click.command()
@config_option
@database_option
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option("--log-json/--log-console", default=None, help="Log format (default: by terminal).")
@handle_errors
def run(config_path: Path, database_url: str | None, log_level: str, log_json: bool | None) -> None:
    """Run the daemon: check the configured images every [watcher] interval."""
    configure_logging(log_level, json=log_json)
    config = read_config(config_path, database_url)
    if not config.images:
        raise click.UsageError(f"{config_path}: no [[images]] to watch")
    run_daemon(config)
