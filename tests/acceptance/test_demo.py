"""``make demo`` runs the whole cycle offline, stops what it started, and the README quotes it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import missing_component

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = os.environ.get("WATCHER_TEST_REGISTRY", "/usr/bin/docker-registry")
README_START = "<!-- demo output: start -->"
README_END = "<!-- demo output: end -->"


def _normalise(text: str) -> str:
    """The parts of the output that differ between runs: the port and the clock."""
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:5055", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "YYYY-MM-DD hh:mm:ss", text)
    # Column widths follow the port's width.
    return "\n".join(re.sub(r" {2,}", "  ", line).rstrip() for line in text.splitlines())


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not os.access(REGISTRY, os.X_OK):
        missing_component(f"{REGISTRY} is missing (apt-get install docker-registry)")
    tmp = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "WATCHER_DEMO_REGISTRY": REGISTRY, "TMPDIR": str(tmp)}
    done = subprocess.run([sys.executable, str(ROOT / "demo" / "demo.py")], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    assert list(tmp.iterdir()) == [], "the demo left files behind"
    return done.stdout


def test_demo_shows_the_whole_cycle(demo_output: str) -> None:
    first, second = demo_output.split("## Second check", 1)
    assert "baseline" in first
    assert "digest_changed" not in first
    # Only the arm64 image was rebuilt upstream: the report names that platform alone.
    assert re.search(r"digest_changed.*linux/arm64/v8", second)
    assert "linux/amd64 changed" not in second
    assert "new_version" in second
    assert "3.13-slim" in second
    assert "(exit status 1)" in second
    assert "acknowledged 2 pending events" in second


def test_readme_quotes_the_demo_as_it_runs(demo_output: str) -> None:
    readme = (ROOT / "README.md").read_text()
    quoted = readme.split(README_START, 1)[1].split(README_END, 1)[0]
    quoted = quoted.strip().removeprefix("```text").removesuffix("```")
    assert _normalise(quoted).strip() == _normalise(demo_output).strip()


def test_demo_without_a_registry_says_what_to_install(tmp_path: Path) -> None:
    env = {**os.environ, "WATCHER_DEMO_REGISTRY": str(tmp_path / "docker-registry")}
    done = subprocess.run([sys.executable, str(ROOT / "demo" / "demo.py")], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "apt-get install docker-registry" in done.stderr
    assert "Traceback" not in done.stderr
