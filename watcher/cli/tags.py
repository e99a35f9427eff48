"""``watcher tags``: rank a list of offered tags against the tag you track, and say why."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import click
from click.core import ParameterSource

from watcher.cli.common import config_option, handle_errors, read_config
from watcher.config import Config, TrackedImage
from watcher.core.reference import parse_reference
from watcher.core.tags import ParsedTag, Reason, Strategy, TagAnswer, TagPolicy, rank_tags

# A group this small is listed one tag per line with its detail; a larger one is wrapped.
_DETAILED_GROUP = 10
_WIDTH = 100


@click.command("tags")
@click.argument("ref", metavar="REF")
@click.option(
    "--from",
    "source",
    metavar="FILE",
    help="Rank the tags in FILE (one per line or a JSON list; '-' is standard input) instead "
    "of the registry's.",
)
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@click.option(
    "--include", metavar="RE", help="Only tags this regex matches (anywhere; anchor with ^ and $)."
)
@click.option(
    "--exclude",
    metavar="RE",
    help="Leave out tags this regex matches (anywhere; anchor with ^ and $).",
)
@click.option(
    "--strategy",
    type=click.Choice([s.value for s in Strategy]),
    help="How to read tags; default: versions and dates, by heuristics.",
)
@click.option("--range", "version_range", metavar="R", help="Version range, e.g. '>=3.12,<4'.")
@click.option("--extract", metavar="RE", help="Regex whose capture group(s) are compared.")
@handle_errors
def tags(
    ref: str,
    source: str | None,
    config_path: Path,
    as_json: bool,
    include: str | None,
    exclude: str | None,
    strategy: str | None,
    version_range: str | None,
    extract: str | None,
) -> None:
    """Show which tag is newer than the one REF names: on its line, and overall; and why.

    REF is an image reference with a tag (python:3.12.7-slim): its repository's tags are
    listed from the registry, with the credentials `watcher check` would use. With --from,
    the tags come from FILE and REF may be the bare tag (3.12.7-slim).
    """
    config = _optional_config(config_path)
    image, current = _tracked(ref, config, listing=source is None)
    base = image.tags if image is not None else TagPolicy()
    try:  # options given here replace the image's configured ones, key by key
        policy = TagPolicy(
            include if include is not None else base.include,
            exclude if exclude is not None else base.exclude,
            strategy if strategy is not None else base.strategy,
            version_range if version_range is not None else base.version_range,
            extract if extract is not None else base.extract,
        )
    except ValueError as exc:
        key, _, _ = str(exc).partition(":")
        raise click.BadParameter(str(exc), param_hint=f"--{key}") from None
    if source is None:
        assert image is not None
        offered = _registry_tags(config or Config(path=None), image)
        where = f"{image.ref.registry}/{image.ref.repository}"
    else:
        offered, where = _read_tags(source), ""
    answer = rank_tags(current, offered, policy)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), indent=2))
    else:
        listed = f"listed     {len(offered)} tags of {where}\n" if where else ""
        click.echo(listed + render(answer))


def _optional_config(path: Path) -> Config | None:
    """The config file when one is named or the default one exists; else no config."""
    explicit = click.get_current_context().get_parameter_source("config_path") not in (
        ParameterSource.DEFAULT,
        None,
    )
    if not explicit and not path.exists():
        return None
    return read_config(path)


def _tracked(text: str, config: Config | None, *, listing: bool) -> tuple[TrackedImage | None, str]:
    """The image REF names (its configured settings when it is configured) and its tag."""
    if not any(mark in text for mark in ":/@") and not listing:
        return None, text  # a bare tag, ranked against --from
    ref = parse_reference(text)
    explicit_tag = ":" in text.rsplit("/", 1)[-1].split("@", 1)[0]
    if not explicit_tag or ref.tag is None:
        how = "give IMAGE:TAG (python:3.12.7-slim)"
        if listing:
            how += ", or --from FILE with the tags to rank"
        raise click.BadParameter(f"{text!r} names no tag to rank: {how}", param_hint="REF")
    configured = {str(image.ref): image for image in (config.images if config else ())}
    return configured.get(str(ref), TrackedImage(ref=ref)), ref.tag


def _registry_tags(config: Config, image: TrackedImage) -> list[str]:
    """Every tag of the image's repository, asked of its registry as `watcher check` does."""
    from watcher.registry import RegistryClient
    from watcher.service import registry_settings

    async def listing() -> list[str]:
        settings, default = registry_settings(config, [image])
        async with RegistryClient(settings, default=default) as client:
            return await client.list_tags(image.ref)

    offered = asyncio.run(listing())
    if not offered:
        raise click.UsageError(
            f"no tags to rank: {image.ref.registry}/{image.ref.repository} lists no tags"
        )
    return offered


def _read_tags(source: str) -> list[str]:
    where = "standard input" if source == "-" else source
    if source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise click.BadParameter(
                f"cannot read {source}: {reason}", param_hint="--from"
            ) from None
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            loaded = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(
                f"{where} looks like JSON but does not parse: {exc}", param_hint="--from"
            ) from None
        if not isinstance(loaded, list) or not all(isinstance(t, str) for t in loaded):
            raise click.BadParameter(
                f"{where}: a JSON input must be a list of tag strings", param_hint="--from"
            )
        offered = [t.strip() for t in loaded if t.strip()]
    else:
        offered = [line.strip() for line in text.splitlines() if line.strip()]
    if not offered:
        raise click.UsageError(f"no tags to rank: {where} is empty (give one tag per line)")
    return offered


def render(answer: TagAnswer) -> str:
    """The answer for people: the two answers first, then how CURRENT was read, then why."""
    lines = [f"current    {answer.current}"]
    if answer.parsed is None:
        lines.append(f"           {answer.note}")
        lines += ["same line  -", "newest     -"]
        return "\n".join(lines)
    lines.append(f"  read as  {_describe(answer.parsed)}")
    lines.append(f"same line  {answer.same_line or '- (none newer on this line)'}")
    lines.append(f"newest     {answer.newest or '- (none newer in this family)'}")
    lines.append("")
    lines.append(f"candidates, newest first ({len(answer.candidates)})")
    lines += [f"  {tag}" for tag in answer.candidates] or ["  (none)"]
    groups: dict[Reason, list[str]] = defaultdict(list)
    for tag, reason in answer.rejected.items():
        groups[reason].append(tag)
    lines.append("")
    lines.append(f"rejected ({len(answer.rejected)})")
    for reason in Reason:
        members = groups.get(reason)
        if not members:
            continue
        lines.append(f"  {reason.value} ({len(members)}): {reason.summary}")
        lines += _render_group(members, answer.details, reason.summary)
    return "\n".join(lines)


def _render_group(members: list[str], details: dict[str, str], summary: str) -> list[str]:
    """Few tags: one a line with its detail. Many: by shared detail when that groups them."""
    if all(details[tag] == summary for tag in members):
        return _wrap(", ".join(members), "    ")
    if len(members) <= _DETAILED_GROUP:
        width = max(len(tag) for tag in members)
        return [f"    {tag:<{width}}  {details[tag]}" for tag in members]
    by_detail: dict[str, list[str]] = defaultdict(list)
    for tag in members:
        by_detail[details[tag]].append(tag)
    if len(by_detail) == 1 or len(by_detail) > len(members) // 2:
        return _wrap(", ".join(members), "    ")
    lines: list[str] = []
    for detail, tags_ in by_detail.items():
        lines.append(f"    {detail} ({len(tags_)}):")
        lines += _wrap(", ".join(tags_), "      ")
    return lines


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text,
        width=_WIDTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_on_hyphens=False,
        break_long_words=False,
    )


def _describe(parsed: ParsedTag) -> str:
    parts = [f"{parsed.kind} {parsed.version}"]
    if parsed.counter is not None and parsed.kind != "counter":
        parts.append(f"build counter ls{parsed.counter}")
    if parsed.revision is not None:
        parts.append(f"revision r{parsed.revision}")
    if parsed.metadata:
        parts.append(f"build metadata {' '.join(parsed.metadata)} (not compared)")
    parts += [
        f"prefix {parsed.prefix or '(none)'}",
        f"pre-release {parsed.pre or '(none)'}",
        f"build {'(none)' if parsed.build is None else parsed.build}",
        f"variant {parsed.variant or '(none)'}",
    ]
    if parsed.release and parsed.kind != "timestamp":
        parts.append(f"precision {parsed.precision}")
    if parsed.date_style:
        parts.append(f"date spelling {parsed.date_style}")
    return ", ".join(parts)
