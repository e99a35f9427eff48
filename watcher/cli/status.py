"""``watcher status`` and ``watcher ack``: what needs attention, read from the database only."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from watcher.cli.common import (
    EXIT_OK,
    EXIT_PROBLEM,
    config_option,
    database_option,
    database_options,
    handle_errors,
    open_existing_store,
    print_json,
    read_config,
    require_tracked,
)
from watcher.cli.containers_text import render_containers
from watcher.cli.output import output_width, use_colour
from watcher.cli.status_text import render_deliveries, render_status
from watcher.config import Config, registry_warnings
from watcher.core.reference import parse_reference
from watcher.core.status import DEFAULT_FAIL_ON, Concern, parse_fail_on
from watcher.terminal import printable
from watcher.views.budgets import budget_document, budget_line
from watcher.views.containers import ENGINE_KIND, container_rows, containers_document
from watcher.views.events import attention_lines
from watcher.views.fleet import fleet_document, fleet_lines
from watcher.views.status import gate_failed, status_document, status_rows


@click.command()
@database_options
@click.option(
    "--all", "include_inactive", is_flag=True, help="Include images no longer configured."
)
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit 1 when some image needs a rebuild, has a newer version or fails (for CI).",
)
@click.option(
    "--fail-on",
    metavar="LIST",
    help="Exit 1 only for these, comma separated: rebuild,newer,failing (implies --exit-code).",
)
@click.option(
    "--containers",
    is_flag=True,
    help="List the containers of engine sources that are stale or have a newer version "
    "(with --all: every container).",
)
@handle_errors
def status(
    config_path: Path,
    database_url: str | None,
    as_json: bool,
    include_inactive: bool,
    exit_code: bool,
    fail_on: str | None,
    containers: bool,
) -> None:
    """Show every tracked image, what needs attention first.

    With --containers, the containers ([[sources.engine]]) whose image is out of date: host,
    name, image, the digest running and the current one, since when.

    Reads the database only; it never contacts a registry or an engine.
    """
    with _without_cycle_collection():
        _status(config_path, database_url, as_json, include_inactive, exit_code, fail_on,
                containers)


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Reading 10,000 images makes hundreds of thousands of objects, none in a reference
    cycle; the cyclic collector would walk them again and again (a third of the command's
    time). They are freed by reference counting as usual; the collector is back on after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _status(
    config_path: Path,
    database_url: str | None,
    as_json: bool,
    include_inactive: bool,
    exit_code: bool,
    fail_on: str | None,
    containers: bool,
) -> None:
    gate: frozenset[Concern] = frozenset()
    if fail_on is not None:
        try:
            gate = parse_fail_on(fail_on)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--fail-on") from None
    elif exit_code:
        gate = DEFAULT_FAIL_ON
    config = read_config(config_path, database_url, state_only=True)
    if containers:
        _containers(config, as_json=as_json, everything=include_inactive, gate=gate)
    store = open_existing_store(config, read_only=True)
    try:
        # The table shows no platforms: only the JSON document reads them.
        statuses = store.statuses(include_inactive=include_inactive, platforms=as_json)
        dependents = store.dependents()
        deliveries = store.delivery_counts()
        budgets = store.registry_budgets()
        replicas = store.replicas(datetime.now(UTC), config.replicas.lease)
        version = store.image_set_version() if replicas or config.replicas.shared else None
    finally:
        store.close()
    rows = status_rows(statuses)
    width = output_width()
    warnings = registry_warnings(config.registries)
    if as_json:
        print_json({**status_document(rows, deliveries, dependents), "warnings": warnings,
                    "registries": [budget_document(b) for b in budgets],
                    **({"fleet": fleet_document(replicas, version)}
                       if replicas or config.replicas.shared else {})})
    elif not rows:
        click.echo("No images tracked yet: run `watcher check`.")
    else:
        click.echo(render_status(rows, datetime.now(UTC), colour=use_colour(), width=width,
                                 dependents=dependents))
    block = render_deliveries(attention_lines(deliveries), width=width)
    if block and not as_json:
        click.echo("\n" + block)
    if budgets and not as_json:
        now = datetime.now(UTC)
        click.echo("\nRegistry budgets:")
        for budget in budgets:
            click.echo(f"  {printable(budget_line(budget, now))}")
    if (replicas or config.replicas.shared) and not as_json:
        click.echo("")
        for line in fleet_lines(replicas, version, datetime.now(UTC)):
            click.echo(printable(line))
    for warning in [] if as_json else warnings:
        click.echo(f"warning: {warning}")
    raise SystemExit(EXIT_PROBLEM if gate_failed(rows, gate) else EXIT_OK)


def _containers(config: Config, *, as_json: bool, everything: bool,
                gate: frozenset[Concern]) -> None:
    store = open_existing_store(config, read_only=True)
    try:
        dependents = store.dependents(source_kind=ENGINE_KIND)
        states = store.load_states(dependents, include_inactive=True)
        stale = {r.image for r in container_rows(dependents, states) if r.stale}
        histories = {ref: store.history(ref) for ref in sorted(stale)}
    finally:
        store.close()
    rows = container_rows(dependents, states, everything=everything, histories=histories)
    if as_json:
        print_json(containers_document(rows))
    elif not rows:
        known = sum(len(d) for d in dependents.values())
        click.echo(f"No container needs attention ({known} known)."
                   if known or config.sources.engines
                   else "No containers known: add [[sources.engine]] and run `watcher check`.")
    else:
        click.echo(render_containers(rows, datetime.now(UTC), colour=use_colour(),
                                     width=output_width()))
    failed = any((r.stale and Concern.REBUILD in gate) or (r.newer and Concern.NEWER in gate)
                 for r in rows)
    raise SystemExit(EXIT_PROBLEM if failed else EXIT_OK)


@click.command()
@config_option
@database_option
@click.argument("ref")
@handle_errors
def ack(config_path: Path, database_url: str | None, ref: str) -> None:
    """Acknowledge REF's pending events: you rebuilt, or chose not to."""
    config = read_config(config_path, database_url, state_only=True)
    canonical = str(parse_reference(ref))
    store = open_existing_store(config)
    try:
        require_tracked(store, canonical)
        count = store.acknowledge(canonical)
    finally:
        store.close()
    click.echo(f"{canonical}: acknowledged {count} pending event{'s' if count != 1 else ''}")
