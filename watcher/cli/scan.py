"""``watcher scan [PATH...]``: list what the Dockerfiles, compose files and Kubernetes manifests
under each PATH (or each configured ``[[sources.files]]``) are built on. Reads files only: no
registry, no database, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from watcher.cli.common import (
    config_option,
    handle_errors,
    json_option,
    open_existing_store,
    print_json,
    read_config,
)
from watcher.core.globs import GlobError
from watcher.errors import WatcherError
from watcher.sources.files import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, FileDependent, FileSource
from watcher.terminal import printable
from watcher.views.scan import Place, describe_dependent, place, scan_document


def _build_arg(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    args: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r}: expected NAME=VALUE", ctx, param)
        args[name] = text
    return args


def scan_options(command: Callable[..., None]) -> Callable[..., None]:
    """[PATH]..., --include, --exclude and --build-arg, for the commands that read files."""
    for option in reversed(_SCAN_OPTIONS):
        command = option(command)
    return command


_SCAN_OPTIONS = [
    click.argument("paths", nargs=-1, metavar="[PATH]...",
                   type=click.Path(exists=True, file_okay=False, path_type=Path)),
    click.option("--include", "include", multiple=True, metavar="GLOB",
                 help="Files to read (repeatable) [default: Dockerfiles, Containerfiles, "
                      "compose files, *.yaml/*.yml]."),
    click.option("--exclude", "exclude", multiple=True, metavar="GLOB",
                 help="Files and directories to leave out (repeatable) "
                      "[default: **/node_modules/**, **/vendor/**]."),
    click.option("--build-arg", "build_args", multiple=True, metavar="NAME=VALUE",
                 callback=_build_arg, help="A value for an ARG without a default (repeatable)."),
]


def chosen_sources(
    config_path: Path,
    paths: tuple[Path, ...],
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    build_args: dict[str, str] | None = None,
) -> list[FileSource]:
    """The PATHs given (with the options), else the configured ``[[sources.files]]``."""
    if not paths:
        from watcher.service.sources import file_sources

        configured = file_sources(read_config(config_path))
        if not configured:
            raise click.UsageError(
                f"no PATH given and {config_path} has no [[sources.files]]: give a directory, "
                "or add a [[sources.files]] entry with its path")
        return configured
    try:
        return [FileSource(path, include or DEFAULT_INCLUDE, exclude or DEFAULT_EXCLUDE,
                           build_args or {}) for path in paths]
    except GlobError as exc:
        raise click.BadParameter(str(exc), param_hint="--include/--exclude") from None


def _pins_behind(config_path: Path, dependents: list[FileDependent]) -> frozenset[Place]:
    """The pinned places whose tag moved on, as far as the configured database knows; none
    without a config file or a database (scan needs neither)."""
    if not any(d.pinned for d in dependents) or not config_path.is_file():
        return frozenset()
    from watcher.service.advice import pins_behind

    try:
        store = open_existing_store(read_config(config_path), read_only=True)
    except WatcherError:
        return frozenset()
    try:
        return frozenset(place(d) for d in pins_behind(store, dependents))
    finally:
        store.close()


@click.command("scan")
@scan_options
@config_option
@json_option
@handle_errors
def scan(
    config_path: Path,
    paths: tuple[Path, ...],
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    build_args: dict[str, str],
    as_json: bool,
) -> None:
    """Print the images the files under each PATH are built on, and where each is used.

    With no PATH, the directories of the config's [[sources.files]] are read."""
    sources = chosen_sources(config_path, paths, include, exclude, build_args)
    scans = [(source, source.scan()) for source in sources]
    behind = _pins_behind(config_path, [d for _, scan in scans for d in scan.dependents])
    documents = [scan_document(str(source.path), scan, behind) for source, scan in scans]
    if as_json:
        print_json({"sources": documents})
        return
    for document in documents:
        found = len(document["images"])
        click.echo(f"{printable(document['path'])}: {found} image{'s' * (found != 1)}")
        for image in document["images"]:
            click.echo(f"  {printable(image['ref'])}")
            for dependent in image["dependents"]:
                click.echo(f"    {printable(describe_dependent(dependent))}")
        for problem in document["problems"]:
            where = f"{problem['path']}:{problem['line']}" if problem["line"] else problem["path"]
            click.echo(f"  problem: {printable(where)}: {printable(problem['message'])}")

