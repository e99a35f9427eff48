"""Reading the files in deploy/ the way their tools do, for the tests that check them.

- :func:`parse_dockerfile`: a Dockerfile's instructions (BuildKit's rules for comments, parser
  directives and continuation lines; exec-form arguments as lists);
- :func:`dockerignore_excludes`: whether ``.dockerignore`` keeps a path out of the build context;
- :func:`parse_unit`: a systemd unit's sections and (repeatable) keys;
- :func:`watcher_command`: a ``watcher ...`` command line parsed by watcher's own CLI.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from watcher.cli import main

_DIRECTIVE = re.compile(r"#\s*(syntax|escape|check)\s*=\s*(\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY...
    text: str  # the arguments, continuation lines joined
    line: int  # where it starts (1-based)

    @property
    def exec_form(self) -> list[str] | None:
        """The arguments as a JSON array (exec form), else None (shell form)."""
        try:
            value = json.loads(self.text)
        except ValueError:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None

    def flags(self) -> tuple[dict[str, str], str]:
        """Leading ``--name=value`` flags (``COPY --from=build``) and the text after them."""
        flags: dict[str, str] = {}
        rest = self.text
        while rest.startswith("--"):
            word, _, rest = rest.partition(" ")
            name, _, value = word[2:].partition("=")
            flags[name] = value
            rest = rest.lstrip()
        return flags, rest

    def pairs(self) -> dict[str, str]:
        """``KEY=value`` pairs (ENV, LABEL, ARG), quotes removed."""
        result: dict[str, str] = {}
        for word in shlex.split(self.text):
            key, sep, value = word.partition("=")
            result[key] = value if sep else ""
        return result


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name or self.base}: no {keyword}"
        return found[-1]


@dataclass
class Dockerfile:
    directives: dict[str, str]
    global_args: list[Instruction]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]


def parse_dockerfile(text: str) -> Dockerfile:
    lines = text.splitlines()
    directives: dict[str, str] = {}
    start = 0
    for start, line in enumerate(lines):  # noqa: B007 - parser directives come first
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        directives[match[1].lower()] = match[2]
    escape = directives.get("escape", "\\")
    instructions: list[Instruction] = []
    parts: list[str] = []
    first = 0
    for number, raw in enumerate(lines[start:], start + 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and parts):
            continue  # comments and empty lines inside a continuation are dropped
        if not stripped:
            continue
        if not parts:
            first = number
        if stripped.endswith(escape):
            parts.append(stripped[: -len(escape)].rstrip())
            continue
        parts.append(stripped)
        keyword, _, rest = " ".join(parts).partition(" ")
        instructions.append(Instruction(keyword.upper(), rest.strip(), first))
        parts = []
    assert not parts, "the Dockerfile ends inside a continuation line"
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            _, rest = instruction.flags()
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].lower() == "as" else None
            stages.append(Stage(words[0], name))
        elif not stages:
            assert instruction.keyword == "ARG", f"line {instruction.line}: before FROM"
            global_args.append(instruction)
        else:
            stages[-1].instructions.append(instruction)
    return Dockerfile(directives, global_args, stages)


def dockerignore_excludes(patterns_text: str, path: str) -> bool:
    """Whether ``path`` (relative to the context, ``/``-separated) is left out by these
    patterns: the last pattern that matches it (or one of its parent directories) decides,
    ``!`` re-includes, ``**`` matches any number of directories."""
    patterns = [p.strip() for p in patterns_text.splitlines()]
    patterns = [p for p in patterns if p and not p.startswith("#")]
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        if any(_matches(pattern, candidate) for candidate in candidates):
            excluded = not negate
    return excluded


def _matches(pattern: str, path: str) -> bool:
    if pattern.startswith("**/"):
        tail = pattern[3:]
        segments = path.split("/")
        return any(_matches(tail, "/".join(segments[i:])) for i in range(len(segments)))
    if pattern.count("/") != path.count("/"):
        return False
    return all(fnmatch.fnmatchcase(s, p) for s, p in zip(path.split("/"), pattern.split("/"),
                                                           strict=True))


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit file: section -> key -> every value given (an empty value resets the list)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{line!r} is not KEY=VALUE"
        values = current.setdefault(key.strip(), [])
        if value.strip():
            values.append(value.strip())
        else:
            values.clear()
    return sections


@dataclass(frozen=True)
class WatcherCommand:
    name: str  # the subcommand: run, healthcheck...
    params: dict[str, Any]  # its parsed options, as the command receives them
    global_params: dict[str, Any]  # --log-json, --log-level


def watcher_command(args: Sequence[str]) -> WatcherCommand:
    """Parse ``args`` (without the program name) as the ``watcher`` command does; an unknown
    option or a bad value raises :class:`click.UsageError`."""
    ctx = main.make_context("watcher", list(args))
    with warnings.catch_warnings():  # click 8.2+ deprecates protected_args; 9 merges it
        warnings.simplefilter("ignore", DeprecationWarning)
        rest = [*getattr(ctx, "protected_args", []), *ctx.args]
    if not rest:
        raise click.UsageError("no subcommand")
    name, command, sub_args = main.resolve_command(ctx, rest)
    assert name is not None
    assert command is not None
    sub = command.make_context(name, sub_args, parent=ctx)
    return WatcherCommand(name, dict(sub.params), dict(ctx.params))


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
