"""``watcher check``: one round over the configured images (or the references given)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from watcher.cli.check_text import render_report
from watcher.cli.common import (
    EXIT_OK,
    EXIT_PROBLEM,
    LogSettings,
    database_options,
    handle_errors,
    print_json,
    read_config,
    run_async,
)
from watcher.cli.output import ProgressLine, is_terminal, use_colour
from watcher.config import parse_duration
from watcher.core.changes import CheckState
from watcher.logs import configure_logging
from watcher.terminal import printable
from watcher.views.check import report_document

if TYPE_CHECKING:  # the service pulls in the registry client: import it only to check
    from watcher.service import ImageCheck
    from watcher.service.delivery import DeliveryReport


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    if value.strip() in ("0", "0s"):
        return 0.0
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _delivery_line(report: DeliveryReport) -> str:
    """``notifications: 3 delivered, 1 to retry (hook: answered 503)``."""
    parts = [f"{count} {what}" for count, what in (
        (report.delivered, "delivered"), (report.retrying, "to retry"),
        (report.failed, "failed"), (report.expired, "expired"),
        (report.left, "left for the next run")) if count]
    errors = "; ".join(f"{channel}: {error}" for channel, error in report.errors.items())
    return "notifications: " + ", ".join(parts) + (f" ({errors})" if errors else "")


@click.command()
@database_options
@click.option(
    "--all", "show_all", is_flag=True, help="List every image, unchanged ones too (text output)."
)
@click.option(
    "--deliver-timeout",
    metavar="DURATION",
    callback=_duration,
    default="30s",
    show_default=True,
    help="After the checks, how long to spend sending the notifications due (0: send none); "
    "what is left is sent by the next run.",
)
@click.option(
    "--list-tags",
    is_flag=True,
    help="List every repository's tags now, even when its last listing is more recent than "
    "its tags_interval.",
)
@click.argument("refs", nargs=-1, metavar="[REF]...")
@click.pass_obj
@handle_errors
def check(
    logs: LogSettings,
    config_path: Path,
    database_url: str | None,
    as_json: bool,
    show_all: bool,
    deliver_timeout: float,
    list_tags: bool,
    refs: tuple[str, ...],
) -> None:
    """Check the configured images (or REFs) once, record what changed, and print it.

    Tags are listed (to find newer versions) when a repository's last listing is older
    than its tags_interval (default 6h), or with --list-tags; in between, an unchanged
    image costs one request.

    The text lists the images that changed or failed (--all: every image) and a summary
    naming them; --json has every image with full digests.

    Then it sends the notifications that are due (for at most --deliver-timeout); a
    delivery that fails is retried by the next run and does not change the exit status.

    Exit status: 0 when every check succeeded, 1 when some failed, 2 for usage or
    configuration errors.
    """
    from watcher.service import check_images, images_to_check, open_store
    from watcher.service.delivery import deliver_once
    from watcher.service.engines import Discovery, discover, engine_lines, engines_document
    from watcher.service.file_links import file_lines, files_document

    if logs.level is None:  # the report says what failed; warnings would repeat it
        configure_logging("error", json=logs.json)
    config = read_config(config_path, database_url)
    images = images_to_check(config, refs)
    if not images and (refs or not (config.sources.engines or config.sources.files)):
        raise click.UsageError(f"no images to check: add [[images]], [[sources.engine]] or "
                               f"[[sources.files]] to {config_path}, or name REFs")
    store = open_store(config)
    discovery = Discovery(config.images)
    try:
        if not refs and config.replicas.shared:  # the fleet's versioned image set
            from watcher.service.sharing import sync_image_set

            sync_image_set(store, config, known=None, by=config.replicas.name)
        elif not refs:
            discovery = asyncio.run(discover(config, store))
            images = list(discovery.images)
            if not as_json:
                for error in discovery.errors:
                    click.echo(f"error: {error.message}", err=True)
        on_terminal = is_terminal() and is_terminal(sys.stderr)
        progress = ProgressLine(len(images), enabled=not as_json and on_terminal)

        def on_check(result: ImageCheck) -> None:
            progress.update(
                changed=result.decision.state is CheckState.CHANGED, failed=result.failed
            )

        try:
            report = run_async(check_images(
                config, store, images, progress=on_check, list_tags=list_tags))
        finally:
            progress.close()
        if config.channels and deliver_timeout > 0:
            delivered = asyncio.run(deliver_once(config, store, deliver_timeout))
            if not as_json and (delivered.sent_anything or delivered.left):
                click.echo(_delivery_line(delivered), err=True)
    finally:
        store.close()
    if as_json:
        print_json({**report_document(report), "engines": engines_document(discovery.readings),
                    "files": files_document(discovery.files)})
    else:
        click.echo(render_report(report, colour=use_colour(), show_all=show_all))
        for line in [*engine_lines(discovery.readings, skipped=show_all),
                     *file_lines(discovery.files, problems=show_all)]:
            click.echo(printable(line))
    failed = report.failed or discovery.errors
    raise SystemExit(EXIT_PROBLEM if failed else EXIT_OK)
