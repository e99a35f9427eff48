"""``watcher explain REF``: all watcher knows and concludes about one image."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from watcher.cli.common import (
    database_options,
    handle_errors,
    open_existing_store,
    print_json,
    read_config,
)
from watcher.errors import StorageError
from watcher.terminal import printable


@click.command("explain")
@click.argument("ref", metavar="REF")
@database_options
@click.option("--offline", is_flag=True,
              help="Only what the database knows: ask no registry.")
@handle_errors
def explain(ref: str, config_path: Path, database_url: str | None, as_json: bool,
            offline: bool) -> None:
    """Show the parsed reference, the registry and credentials used, the digest per platform,
    the tag family, newer versions with the orderer's reasons, the precise tag it equals,
    the last change explained, pending events and deliveries."""
    from watcher.config import TrackedImage
    from watcher.core.reference import parse_reference
    from watcher.service.explain import image_facts
    from watcher.views.explain import explain_document, explain_lines

    config = read_config(config_path, database_url, state_only=offline)
    parsed = parse_reference(ref)
    image = TrackedImage(ref=parsed, list_tags=parsed.digest is None)
    try:
        store = open_existing_store(config, read_only=True)
    except StorageError:
        if offline:
            raise
        store = None  # nothing recorded yet: what the registry says is still worth saying
    try:
        facts = asyncio.run(image_facts(config, store, image, live=not offline))
    finally:
        if store is not None:
            store.close()
    document = explain_document(facts)
    if as_json:
        print_json(document)
        return
    rows = explain_lines(document)
    width = max(len(label) for label, _ in rows)
    for label, text in rows:
        click.echo(f"{label:<{width}}  {printable(text)}")
