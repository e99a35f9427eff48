"""``watcher advise [PATH...]``: for each FROM and image line of the files under each PATH (or
the configured ``[[sources.files]]``), what to do, from what the database knows: ``--diff``
shows the edits, ``--write`` makes them."""

from __future__ import annotations

from pathlib import Path

import click

from watcher.cli.common import (
    EXIT_PROBLEM,
    database_options,
    handle_errors,
    open_existing_store,
    print_json,
    read_config,
)
from watcher.cli.scan import chosen_sources, scan_options
from watcher.errors import StorageError
from watcher.terminal import printable


@click.command("advise")
@scan_options
@database_options
@click.option("--diff", "show_diff", is_flag=True,
              help="Print a unified diff of the image references that would change.")
@click.option("--write", "write", is_flag=True,
              help="Apply those changes to the files (atomically, modes kept).")
@click.option("--exit-code", "exit_code", is_flag=True,
              help="Exit with status 1 when anything is to be done (a CI gate).")
@click.option("--stored", "stored", is_flag=True,
              help="Read no file: advise the dependents the last check or round linked.")
@handle_errors
def advise(
    paths: tuple[Path, ...],
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    build_args: dict[str, str],
    config_path: Path,
    database_url: str | None,
    as_json: bool,
    show_diff: bool,
    write: bool,
    exit_code: bool,
    stored: bool,
) -> None:
    """Say what to do about each base image the files use: rebuild, update the tag, move a
    pin that is behind (PATHs, or the config's [[sources.files]]; with --stored, or with
    neither, the dependents the database links)."""
    from watcher.service.advice import advise as advise_sources
    from watcher.service.advice import advise_stored, planned_rewrites, write_rewrite
    from watcher.views.advice import advice_document, describe_use

    config = read_config(config_path, database_url, state_only=True)
    if stored and paths:
        raise click.UsageError("--stored reads no file: give no PATH with it")
    if not paths and not stored and config_path.is_file():
        stored = not read_config(config_path, database_url).sources.files
    if stored and (show_diff or write):
        raise click.UsageError("--diff and --write edit files: give a PATH or configure "
                               "[[sources.files]], without --stored")
    sources = [] if stored else chosen_sources(config_path, paths, include, exclude, build_args)
    try:
        store = open_existing_store(config, read_only=True)
    except StorageError as exc:
        if stored:
            raise
        click.echo(f"watcher: {printable(exc.message)}; every image is \"not tracked\"",
                   err=True)
        store = None
    try:
        if stored:
            assert store is not None
            advised = advise_stored(store)
            if not advised:
                raise click.UsageError(
                    f"no PATH given, and neither {config_path} has [[sources.files]] nor the "
                    "database links any file: give a directory, or add [[sources.files]] "
                    "and run `watcher check`")
        else:
            advised = advise_sources(store, sources)
    finally:
        if store is not None:
            store.close()
    rewrites = [r for a in advised for r in planned_rewrites(a)] if show_diff or write else []
    documents = [advice_document(str(a.path), a.scan,
                                 [(u.dependent, u.advice) for u in a.uses]) for a in advised]
    if write:
        for rewrite in rewrites:
            write_rewrite(rewrite)
    if as_json:
        answer: dict[str, object] = {"sources": documents}
        if show_diff or write:
            answer["diff"] = "".join(r.diff for r in rewrites)
            answer["written"] = [str(r.full) for r in rewrites if r.result.changed and write]
        print_json(answer)
    elif show_diff:
        for rewrite in rewrites:
            for line in rewrite.diff.splitlines():
                click.echo(printable(line))
        for rewrite in rewrites:
            for edit, why in rewrite.result.skipped:
                click.echo(f"not changed: {printable(rewrite.path)}:{edit.line}: "
                           f"{printable(why)}", err=True)
    else:
        for document in documents:
            click.echo(f"{printable(document['path'])}:")
            for use in document["uses"]:
                click.echo(f"  {printable(describe_use(use))}")
                if "new" in use:
                    click.echo(f"    -> {printable(use['new'])}")
                if "note" in use:
                    click.echo(f"    ({printable(use['note'])})")
            for problem in document["problems"]:
                where = (f"{problem['path']}:{problem['line']}" if problem["line"]
                         else problem["path"])
                click.echo(f"  problem: {printable(where)}: {printable(problem['message'])}")
    if write and not as_json:
        for rewrite in rewrites:
            if rewrite.result.changed:
                click.echo(f"wrote {printable(str(rewrite.full))}", err=True)
    pending = any(u["action"] not in ("up to date", "not tracked")
                  for d in documents for u in d["uses"])
    if pending and exit_code:
        raise SystemExit(EXIT_PROBLEM)
