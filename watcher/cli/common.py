"""What the commands share: the --config, --database and --json options, opening the store,
and error exits."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import click

from watcher.config import Config, load_config
from watcher.config import database_url as check_database_url
from watcher.config.secrets import config_secrets
from watcher.errors import ConfigError, InvalidReference, WatcherError
from watcher.logs import redact
from watcher.terminal import printable

if TYPE_CHECKING:
    from watcher.store import Store

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2

config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="watcher.toml",
    show_default=True,
    envvar="WATCHER_CONFIG",
    help="Configuration file (also $WATCHER_CONFIG).",
)
database_option = click.option(
    "--database",
    "database_url",
    metavar="URL",
    envvar="WATCHER_DATABASE",
    help="Database URL, overriding [watcher] database (also $WATCHER_DATABASE).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
Command = TypeVar("Command", bound=Callable[..., Any])


def database_options(command: Command) -> Command:
    """--config, --database and --json (in that order): the options of every command that
    reads the database and prints a document."""
    return config_option(database_option(json_option(command)))


@dataclass(frozen=True)
class LogSettings:
    """The global --log-level and --log-json choices (None: the command's default)."""

    level: str | None
    json: bool | None


def run_async(work: Coroutine[Any, Any, R]) -> R:
    """``asyncio.run(work)`` whose main task does not hold the result: on its way out
    asyncio.run formats ``repr()`` of that task (restoring the SIGINT handler), and with it
    the result's, which for a round's report of 10,000 checks took half a second."""
    import asyncio

    results: list[R] = []

    async def main() -> None:
        results.append(await work)

    asyncio.run(main())
    return results[0]


def fail(message: str, code: int) -> NoReturn:
    # Messages quote registries and config files: nothing in them may drive the terminal.
    click.echo(f"watcher: error: {printable(message)}", err=True)
    sys.exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn watcher's typed errors into a message and the documented exit status."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (ConfigError, InvalidReference) as exc:
            fail(exc.message, EXIT_USAGE)
        except WatcherError as exc:
            fail(exc.message, EXIT_PROBLEM)

    return wrapper


def read_config(
    config_path: Path, database_url: str | None = None, *, state_only: bool = False
) -> Config:
    """Load the config. Commands that only use the database (``state_only``) need no config
    file when a database URL is given; the others always read theirs."""
    if database_url:
        # A path on the command line is relative to the current directory, as every one is.
        database_url = check_database_url(database_url, key="--database")
    if state_only and database_url and not config_path.exists():
        config = Config(path=None, database=database_url)
    else:
        config = load_config(config_path)
        if database_url:
            config = Config(**{**config.__dict__, "database": database_url})
    redact(config_secrets(config))  # no secret of it in any log line
    return config


def open_existing_store(config: Config, *, read_only: bool = False) -> Store:
    """The configured database, which must exist (see ``Store.open_existing``)."""
    from watcher.store import Store

    return Store.open_existing(config.database, read_only=read_only)


def require_tracked(store: Store, ref: str) -> None:
    """Refuse a REF the database does not track (a usage error naming it)."""
    if store.load_state(ref) is None:
        raise click.BadParameter(f"{ref} is not tracked", param_hint="REF")


def print_json(document: Any) -> None:
    """Indented for a person on a terminal; one compact line (C-encoded, fast) for machines."""
    indent = 2 if sys.stdout.isatty() else None
    click.echo(json.dumps(document, indent=indent, default=str))
