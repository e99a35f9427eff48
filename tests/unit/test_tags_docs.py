"""Every ``$ `` example in docs/tags.md runs as written and prints what the page shows.

Each fenced block whose first line starts with ``$ `` is run in a fresh directory, command by
command (a line ending in ``\\`` continues on the next), with the installed ``watcher`` first on
PATH. A block's JSON output is compared as JSON (the page shows it compacted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "tags.md"
WATCHER = Path(sys.executable).parent / "watcher"


def _examples() -> list[tuple[int, list[tuple[str, str]]]]:
    """(line number, [(command, expected output)]) for each runnable block."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    for number, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            if current is None:
                current, start = [], number + 1
            else:
                blocks.append((start, current))
                current = None
        elif current is not None:
            current.append(line)
    examples = []
    for start, lines in blocks:
        if not lines or not lines[0].startswith("$ "):
            continue
        steps: list[tuple[str, str]] = []
        i = 0
        while i < len(lines):
            command = lines[i][2:]
            while command.endswith("\\"):
                i += 1
                command += "\n" + lines[i]
            i += 1
            output = []
            while i < len(lines) and not lines[i].startswith("$ "):
                output.append(lines[i])
                i += 1
            steps.append((command, "\n".join(output)))
        examples.append((start, steps))
    return examples


EXAMPLES = _examples()


def test_the_page_has_runnable_examples_for_every_publisher() -> None:
    assert len(EXAMPLES) >= 11
    commands = " ".join(command for _, steps in EXAMPLES for command, _ in steps)
    for tag in ("-ls301", "-r5", "c6bbc1b53", "bookworm-slim", "v1.29.3", "RELEASE.", "-M20",
                "2024.1.5"):  # fmt: skip
        assert tag in commands


@pytest.mark.parametrize(("start", "steps"), EXAMPLES, ids=[f"line-{s}" for s, _ in EXAMPLES])
def test_example_runs_as_written(start: int, steps: list[tuple[str, str]], tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("WATCHER_")}
    env.update(PATH=f"{WATCHER.parent}{os.pathsep}{env.get('PATH', '')}", HOME=str(tmp_path))
    for command, expected in steps:
        done = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"docs/tags.md:{start}: {command}\n{done.stderr}"
        if expected.lstrip().startswith("{"):
            assert json.loads(done.stdout) == json.loads(expected), command
        else:
            got = "\n".join(line.rstrip() for line in done.stdout.rstrip("\n").splitlines())
            assert got == expected.rstrip("\n"), f"docs/tags.md:{start}: {command}"
