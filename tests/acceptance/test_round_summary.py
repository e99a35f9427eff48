"""A real round against the real registry with a dead registry beside it: one summary line,
the dead registry's failures folded into one line, no secret anywhere; readable on a
terminal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli import write_config
from tests.support import free_port
from tests.support.registry import RunningRegistry
from tests.support.terminal import run_on_a_terminal

PASSWORD = "s3cret-Pa55word-never-logged"
DEAD_IMAGES = 6


def _config(tmp_path: Path, registry: RunningRegistry, repository: str) -> tuple[Path, str]:
    refs = []
    for n in range(2):
        registry.push.push_image(f"{repository}/ok{n}", "1")
        refs.append(str(registry.ref(f"{repository}/ok{n}", "1")))
    dead = f"127.0.0.1:{free_port()}"
    images = [{"ref": r, "list_tags": False} for r in refs]
    images += [{"ref": f"{dead}/lib/app{n}:1", "list_tags": False} for n in range(DEAD_IMAGES)]
    extra = (f'\n[[registries]]\nhost = "{dead}"\ninsecure = true\nretries = 0\n'
             f'username = "bob"\npassword = "{PASSWORD}"')
    config = write_config(tmp_path / "watcher.toml", registry, images,
                          database=f"sqlite:///{tmp_path / 'w.db'}", extra_registry=extra)
    config.write_text(config.read_text().replace(
        "[watcher]", f'[watcher]\nping_url = "http://u:{PASSWORD}@x/"'))
    return config, dead


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / "docker")}


@pytest.mark.registry
def test_a_round_logs_one_summary_and_folds_a_dead_registry(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    config, dead = _config(tmp_path, registry_open, repository)
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "--log-json", "--log-level", "info", "check",
         "--config", str(config)],
        capture_output=True, text=True, timeout=120, env=_env(tmp_path), cwd=tmp_path)
    assert result.returncode in (0, 1, 2), result.stderr
    assert PASSWORD not in result.stderr + result.stdout
    logs: list[dict[str, Any]] = [json.loads(line) for line in result.stderr.splitlines()
                                  if line.startswith("{")]
    failed = [e for e in logs if e["event"] == "check failed"]
    assert len(failed) == 1, failed
    (fold,) = failed
    assert fold["registry"] == dead
    assert fold["images"] == DEAD_IMAGES
    assert len(fold["examples"]) == 3
    assert all(ref.startswith(f"{dead}/lib/app") for ref in fold["examples"])
    assert "cannot connect" in fold["error"]
    (summary,) = [e for e in logs if e["event"] == "round finished"]
    assert summary["checked"] == 2 + DEAD_IMAGES
    assert summary["failed"] == DEAD_IMAGES
    assert summary["first_seen"] == 2
    assert summary["changed"] == 0
    assert summary["not_started"] == 0
    assert summary["requests"] >= 2 + DEAD_IMAGES  # one each at least, counted at the client
    assert summary["duration_seconds"] > 0
    assert summary["round_id"]
    assert summary["level"] == "info"


@pytest.mark.registry
def test_on_a_terminal_the_lines_are_for_people(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    config, _dead = _config(tmp_path, registry_open, repository)
    text = run_on_a_terminal(
        [sys.executable, "-m", "watcher", "--log-level", "info", "db", "upgrade",
         "--config", str(config)], _env(tmp_path))
    assert "upgraded" in text
    command = [sys.executable, "-c",
               "import sys, subprocess; sys.exit(subprocess.call(sys.argv[1:]) not in (0, 1, 2))",
               sys.executable, "-m", "watcher", "--log-level", "info", "check",
               "--config", str(config)]
    text = re.sub(r"\x1b\[[0-9;]*m", "", run_on_a_terminal(command, _env(tmp_path)))
    assert PASSWORD not in text
    summary = [line for line in text.splitlines() if "round finished" in line]
    assert len(summary) == 1
    assert not summary[0].lstrip().startswith("{")  # console lines, not JSON
    assert f"checked={2 + DEAD_IMAGES}" in summary[0]
    assert sum("check failed" in line for line in text.splitlines()) == 1
