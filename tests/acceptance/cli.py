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
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
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
