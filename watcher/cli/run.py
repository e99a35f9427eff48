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
from watcher.config import Config, parse_duration
from watcher.errors import ConfigError
from watcher.logs import configure_logging


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@click.command()
@config_option
@database_option
@click.option(
    "--stop-timeout",
    metavar="DURATION",
    callback=_duration,
    default="10s",
    show_default=True,
    help="On SIGTERM or Ctrl-C, how long to wait for the checks in flight to finish.",
)
@click.pass_obj
@handle_errors
def run(
    logs: LogSettings, config_path: Path, database_url: str | None, stop_timeout: float
) -> None:
    """Run the daemon: check the configured images on their schedules.

    SIGHUP reloads the config file (a config that does not load is refused and the running
    one goes on); SIGTERM or Ctrl-C lets the checks in flight finish, then exits 0.
    """
    configure_logging(logs.level or "info", json=logs.json)
    config = read_config(config_path, database_url)
    if not config.images and not config.sources.engines and not config.sources.files:
        raise click.UsageError(f"{config_path}: no [[images]], [[sources.engine]] or "
                               "[[sources.files]] to watch")
    from watcher.daemon import run_daemon  # the scheduler and registry client, only when run

    def reload() -> Config:
        new = read_config(config_path, database_url)
        if not new.images and not new.sources.engines and not new.sources.files:
            raise ConfigError("no [[images]], [[sources.engine]] or [[sources.files]] to watch",
                              path=str(config_path))
        return new

    run_daemon(config, stop_timeout=stop_timeout, reload=reload)
