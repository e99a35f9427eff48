"""Reading a Dockerfile with BuildKit's own parser.

The ``dockerfile`` package wraps the parser BuildKit and ``docker build`` use (continuation
lines, comments, the ``escape`` and ``syntax`` directives, heredocs, JSON forms), so what
watcher reads is what a build reads. ``dockerfile-parse``, the other maintained choice,
mistakes heredoc bodies for instructions and does not substitute ``${VAR:-default}``.
The rules of stages and ``ARG``s are watcher's own, in :mod:`watcher.core.buildfile`.
"""

from __future__ import annotations

from collections.abc import Mapping

import dockerfile  # type: ignore[import-not-found]  # a compiled module, no stubs

from watcher.core.buildfile import Bases, Instruction, Problem, resolve_bases

MAX_DOCKERFILE_BYTES = 1024 * 1024  # larger is not a Dockerfile a person wrote


def parse_instructions(text: str) -> tuple[list[Instruction], Problem | None]:
    """The instructions of ``text``, or none and the reason it cannot be read."""
    if len(text) > MAX_DOCKERFILE_BYTES:
        return [], Problem(0, f"larger than {MAX_DOCKERFILE_BYTES // 1024} KiB")
    if "\x00" in text:
        return [], Problem(0, "not a text file (it holds NUL bytes)")
    try:
        commands = dockerfile.parse_string(text.removeprefix("\ufeff"))
    except dockerfile.GoParseError as exc:
        message = str(exc)
        if message == "file with no instructions":
            return [], None
        return [], Problem(0, f"not a valid Dockerfile: {message}")
    return [
        Instruction(
            command=c.cmd.upper(),
            flags=tuple(c.flags or ()),
            args=tuple(c.value or ()),
            line=c.start_line,
            end_line=c.end_line,
            original=c.original,
            sub_command=c.sub_cmd.upper() if c.sub_cmd else None,
        )
        for c in commands
        if c.cmd  # a line of only an escape character parses as no command
    ], None


def dockerfile_bases(text: str, build_args: Mapping[str, str] = {}) -> Bases:
    """The external images a Dockerfile's text builds on, with its problems by line."""
    instructions, problem = parse_instructions(text)
    if problem is not None:
        return Bases(problems=(problem,))
    return resolve_bases(instructions, build_args)
