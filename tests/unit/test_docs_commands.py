"""Every ``watcher ...`` command written in the README and docs/ parses as written: each
option it spells exists on the command it is given to (``watcher run --log-json`` does not,
``watcher --log-json run`` does)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher.cli import main

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_SPAN = re.compile(r"`(watcher [^`]+)`")


def _commands() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for document in DOCUMENTS:
        in_shell = False
        for line in document.read_text(encoding="utf-8").splitlines():
            if line.startswith("```"):
                in_shell = line.strip() in ("```sh", "```console", "```shell")
                continue
            if in_shell:
                text = line.strip().removeprefix("$ ").split(" #", 1)[0]
                text = text.rsplit("| ", 1)[-1]
                if text.startswith("watcher "):
                    found.append((document.name, text))
            else:
                found += [(document.name, span) for span in _SPAN.findall(line)]
    return found


COMMANDS = _commands()


def test_the_documents_have_commands() -> None:
    assert len(COMMANDS) > 10


@pytest.mark.parametrize(("document", "command"), COMMANDS, ids=[c for _, c in COMMANDS])
def test_every_documented_command_parses(document: str, command: str) -> None:
    words = shlex.split(command)[1:]
    result = CliRunner().invoke(main, [*words, "--help"])
    assert result.exit_code == 0, f"{document}: `{command}`: {result.output}"
