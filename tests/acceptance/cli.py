"""Running the ``watcher`` command in-process and writing config files for it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.support.registry import RunningRegistry
from watcher.cli import main


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


def run(*args: str) -> Result:
    # Output as when piped: no width limit, whatever $COLUMNS the tests run with.
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": None}, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def write_config(
    path: Path,
    registry: RunningRegistry,
    images: list[dict[str, Any]],
    *,
    database: str,
    extra_registry: str = "",
    credentials: bool = True,
) -> Path:
    """A config for ``registry`` (credentials included) tracking ``images``."""
    lines = [
        "[watcher]",
        f"database = {json.dumps(database)}",
        "",
        "[[registries]]",
        f'host = "{registry.host}"',
        "insecure = true",
        "retries = 0",
        'timeout = "5s"',
    ]
    if credentials and registry.username:
        lines += [f'username = "{registry.username}"', f'password = "{registry.password}"']
    if extra_registry:
        lines.append(extra_registry)
    for image in images:
        lines += ["", "[[images]]"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in image.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class MovedFleet:
    """Many images checked once (the baseline), then every tag moved: the next round has a
    change to record for each, one image at a time (``max_concurrency = 1``) unless told
    otherwise."""

    old: dict[str, str]  # ref -> digest at the baseline
    new: dict[str, str]  # ref -> digest the tag points to now
    database: Path
    config: Path


def moved_fleet(
    registry: RunningRegistry, repository: str, tmp_path: Path, count: int,
    concurrency: int = 1,
) -> MovedFleet:
    push = registry.push
    repositories = [f"{repository}/img{i}" for i in range(count)]
    old = {str(registry.ref(r, "1.0")): push.push_image(r, "1.0") for r in repositories}
    database = tmp_path / "watcher.db"
    config = write_config(
        tmp_path / "watcher.toml",
        registry,
        [{"ref": ref, "list_tags": False} for ref in old],
        database=f"sqlite:///{database}",
        extra_registry=f"max_concurrency = {concurrency}",
    )
    assert run("check", "--config", str(config)).exit_code == 0
    new = {str(registry.ref(r, "1.0")): push.move_tag(r, "1.0") for r in repositories}
    return MovedFleet(old, new, database, config)
