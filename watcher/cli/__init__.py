"""The ``watcher`` command line: parse arguments, configure logging, call in. Nothing more."""

from __future__ import annotations

import click

from watcher import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="watcher")
def main() -> None:
    """Watch the base images you build FROM; tell which images must be rebuilt, and why."""


from watcher.cli.tags import tags  # noqa: E402

main.add_command(tags)
