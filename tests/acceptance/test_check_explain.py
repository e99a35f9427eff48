"""A moved tag is explained from the old and new image configs: the version that moved, how
far, on which platforms; the event, the history and the notices carry it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.cli import run, write_config
from tests.support.registry import RunningRegistry


@pytest.mark.registry
def test_a_moved_tag_says_which_version_moved(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    push = registry_open.push
    name = f"{repository}/python"
    push.push_image(name, "3.12-slim", env=["PYTHON_VERSION=3.12.7", "PATH=/usr/bin"])
    ref = str(registry_open.ref(name, "3.12-slim"))
    config = write_config(tmp_path / "watcher.toml", registry_open,
                          [{"ref": ref, "list_tags": False}],
                          database=f"sqlite:///{tmp_path / 'watcher.db'}")
    assert run("check", "--config", str(config)).exit_code == 0

    push.push_image(name, "3.12-slim", env=["PYTHON_VERSION=3.12.8", "PATH=/usr/bin"])
    report = run("check", "--config", str(config), "--json")
    assert report.exit_code == 0, report.stderr
    (image,) = report.json["images"]
    (event,) = image["events"]
    explanation = event["explanation"]
    assert explanation["versions"] == {"PYTHON_VERSION": ["3.12.7", "3.12.8"]}
    assert explanation["change"] == "patch"

    text = run("history", "--config", str(config), ref).stdout
    assert "Python 3.12.7 -> 3.12.8 (patch)" in text

    # Rebuilt on the same version: said so.
    push.push_image(name, "3.12-slim", env=["PYTHON_VERSION=3.12.8", "PATH=/usr/bin"])
    (image,) = run("check", "--config", str(config), "--json").json["images"]
    assert image["events"][0]["explanation"]["change"] == "rebuild"
