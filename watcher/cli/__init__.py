"""The ``watcher`` command line: parse arguments, configure logging, call in. Nothing more.

Each subcommand's module is imported only when that subcommand runs (or ``--help`` lists
them all): ``watcher --version`` loads no database, HTTP or logging library, and ``watcher
status`` none of the registry client's or the daemon's.
"""

from __future__ import annotations

import importlib

import click

from watcher import __version__

# Command name -> "module:attribute" of its click command.
COMMANDS: dict[str, str] = {
    "tags": "watcher.cli.tags:tags",
    "db": "watcher.cli.db:db",
    "check": "watcher.cli.check:check",
    "status": "watcher.cli.status:status",
    "history": "watcher.cli.history:history",
    "ack": "watcher.cli.status:ack",
    "events": "watcher.cli.events:events",
    "notify": "watcher.cli.notify:notify",
    "run": "watcher.cli.run:run",
    "scan": "watcher.cli.scan:scan",
    "advise": "watcher.cli.advise:advise",
    "explain": "watcher.cli.explain:explain",
    "healthcheck": "watcher.cli.healthcheck:healthcheck",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported by name, when first asked for."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self._lazy, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self._lazy:
            module_name, _, attribute = self._lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):  # pragma: no cover - a wiring mistake
                raise TypeError(f"{self._lazy[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
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
    from watcher.cli.common import LogSettings
    from watcher.logs import configure_logging

    ctx.obj = LogSettings(log_level, log_json)
    configure_logging(log_level or "warning", json=log_json)
