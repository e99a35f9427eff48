"""The ``watcher`` command line: parse arguments, configure logging, call in. Nothing more."""

from __future__ import annotations

import click

from watcher import __version__
from watcher.cli.common import LogSettings
from watcher.logs import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="watcher")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    envvar="WATCHER_LOG_LEVEL",
    help="Log level on standard error [default: info for `run`, warning otherwise].",
)
@click.option(
    "--log-json/--log-console",
    "log_json",
    default=None,
    help="Log format [default: JSON unless standard error is a terminal].",
)
@click.pass_context
def main(ctx: click.Context, log_level: str | None, log_json: bool | None) -> None:
    """Watch the base images you build FROM; tell which images must be rebuilt, and why."""
    ctx.obj = LogSettings(log_level, log_json)
    configure_logging(log_level or "warning", json=log_json)


from watcher.cli.tags import tags  # noqa: E402

main.add_command(tags)

from watcher.cli.db import db  # noqa: E402

main.add_command(db)

from watcher.cli.check import check  # noqa: E402
from watcher.cli.events import events  # noqa: E402
from watcher.cli.history import history  # noqa: E402
from watcher.cli.notify import notify  # noqa: E402
from watcher.cli.run import run  # noqa: E402
from watcher.cli.status import ack, status  # noqa: E402

main.add_command(check)
main.add_command(status)
main.add_command(history)
main.add_command(ack)
main.add_command(events)
main.add_command(notify)
main.add_command(run)

from watcher.cli.scan import scan  # noqa: E402

main.add_command(scan)

from watcher.cli.healthcheck import healthcheck  # noqa: E402

main.add_command(healthcheck)
