"""What a Dockerfile is built on: the rules of stages, ``ARG`` substitution and ``--from``.

The syntax (continuation lines, comments, parser directives, heredocs, JSON forms) is
BuildKit's, read by :mod:`watcher.sources.dockerfile`; this module takes its instructions and
applies the semantics BuildKit applies when it resolves base images:

- ``ARG`` lines before the first ``FROM`` are the global scope, usable in ``FROM`` lines; a
  build argument given in the config overrides a default; an ``ARG`` with neither is unset.
- ``FROM image [AS name]``: a FROM naming an earlier stage (names compare case-insensitively)
  or ``scratch`` is not a base image.
- ``COPY --from=X`` and ``RUN --mount=...,from=X``: X is an earlier stage's name, a stage's
  index, or an external image, which is a dependency too. Inside a stage, the global ARGs
  are visible only once redeclared (``ARG NAME``), as in BuildKit.

Nothing here raises on odd input: what cannot be resolved is reported as a problem with its
line, and the rest of the file still counts.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from watcher.core.reference import ImageReference, parse_reference
from watcher.errors import InvalidReference

# ARGs BuildKit defines itself, usable in FROM without a declaration. Their values depend on
# the machine that builds, so a FROM that uses them in the image name cannot be resolved.
AUTOMATIC_ARGS = frozenset({
    "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
    "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
    "TARGETSTAGE", "BUILDKIT_SYNTAX",
})
MAX_EXPANSION = 4096  # a substituted value longer than this is not an image reference


class UseKind(StrEnum):
    FROM = "from"                # FROM image
    COPY_FROM = "copy-from"      # COPY --from=image
    MOUNT_FROM = "mount-from"    # RUN --mount=...,from=image


@dataclass(frozen=True)
class Instruction:
    """One instruction as the parser read it: the command upper-cased, flags and arguments
    split as BuildKit splits them, and the line it starts on (1-based)."""

    command: str
    flags: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    line: int = 0
    end_line: int = 0
    original: str = ""
    sub_command: str | None = None


@dataclass(frozen=True)
class BaseUse:
    """An external image a Dockerfile uses, and where."""

    image: ImageReference
    written: str                 # the image as written, before substitution
    line: int
    kind: UseKind
    stage_index: int             # the stage this use is in (0-based)
    stage: str | None = None     # that stage's name, when it has one
    platform: str | None = None  # the FROM's --platform, as written

    @property
    def pinned(self) -> bool:
        return self.image.digest is not None


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


@dataclass(frozen=True)
class Bases:
    uses: tuple[BaseUse, ...] = ()
    stages: tuple[str | None, ...] = ()
    problems: tuple[Problem, ...] = ()


@dataclass
class _Stage:
    index: int
    name: str | None
    args: dict[str, str | None] = field(default_factory=dict)


def resolve_bases(instructions: Sequence[Instruction], build_args: Mapping[str, str] = {}) -> Bases:
    """The external images ``instructions`` build on, with ``build_args`` as ``--build-arg``."""
    uses: list[BaseUse] = []
    problems: list[Problem] = []
    global_args: dict[str, str | None] = {}
    stages: list[_Stage] = []
    for ins in instructions:
        command = ins.command.upper()
        if command == "ARG":
            scope = stages[-1].args if stages else global_args
            _declare(ins, scope, global_args if stages else None, build_args)
        elif command == "FROM":
            stage = _from(ins, stages, global_args, uses, problems)
            stages.append(stage)
        elif not stages:
            if command not in ("ONBUILD",):
                problems.append(Problem(ins.line, f"{command} before the first FROM"))
        elif command == "COPY" or command == "ADD":
            for value in _flag_values(ins.flags, "from"):
                _dependency(ins, value, UseKind.COPY_FROM, stages, uses, problems)
        elif command == "RUN":
            for mount in _flag_values(ins.flags, "mount"):
                source = _mount_from(mount)
                if source is not None:
                    _dependency(ins, source, UseKind.MOUNT_FROM, stages, uses, problems)
    return Bases(tuple(uses), tuple(s.name for s in stages), tuple(problems))


def _declare(
    ins: Instruction,
    scope: dict[str, str | None],
    global_args: dict[str, str | None] | None,
    build_args: Mapping[str, str],
) -> None:
    """``ARG NAME[=default] ...``: a build argument wins over the default; inside a stage, a
    bare ``ARG NAME`` takes the global value (BuildKit's redeclaration rule)."""
    for arg in ins.args:
        name, sep, default = arg.partition("=")
        if not _is_name(name):
            continue
        if name in build_args:
            scope[name] = build_args[name]
        elif sep:
            scope[name] = _expand(default, scope)[0]
        elif global_args is not None and name in global_args:
            scope[name] = global_args[name]
        else:
            scope.setdefault(name, None)


def _from(
    ins: Instruction,
    stages: list[_Stage],
    global_args: Mapping[str, str | None],
    uses: list[BaseUse],
    problems: list[Problem],
) -> _Stage:
    args = list(ins.args)
    name: str | None = None
    if len(args) >= 3 and args[-2].upper() == "AS":
        name = args[-1].lower()
        args = args[:-2]
    stage = _Stage(len(stages), name)
    if len(args) != 1:
        problems.append(Problem(ins.line, "FROM takes one image (and optionally AS name)"))
        return stage
    written = args[0]
    platform = next(iter(_flag_values(ins.flags, "platform")), None)
    image, missing = _expand(written, global_args)
    if missing:
        problems.append(_unresolved(ins.line, written, missing))
        return stage
    if image.lower() == "scratch" or _stage_named(image, stages) is not None:
        return stage
    reference = _reference(ins.line, image, problems)
    if reference is not None:
        uses.append(BaseUse(reference, written, ins.line, UseKind.FROM, stage.index, name,
                            platform))
    return stage


def _dependency(
    ins: Instruction,
    written: str,
    kind: UseKind,
    stages: list[_Stage],
    uses: list[BaseUse],
    problems: list[Problem],
) -> None:
    current = stages[-1]
    value, missing = _expand(written, current.args)
    if missing:
        problems.append(_unresolved(ins.line, written, missing))
        return
    if value.isdigit() or _stage_named(value, stages[:-1]) is not None:
        return  # an earlier stage, by index or by name
    if value.lower() == (current.name or "\0"):
        problems.append(Problem(ins.line, f"stage {value!r} cannot copy from itself"))
        return
    reference = _reference(ins.line, value, problems)
    if reference is not None:
        uses.append(BaseUse(reference, written, ins.line, kind, current.index, current.name))


def _stage_named(text: str, stages: Sequence[_Stage]) -> _Stage | None:
    lowered = text.lower()
    return next((s for s in stages if s.name == lowered), None)


def _reference(line: int, text: str, problems: list[Problem]) -> ImageReference | None:
    try:
        return parse_reference(text)
    except InvalidReference as exc:
        problems.append(Problem(line, exc.message))
        return None


def _unresolved(line: int, written: str, missing: Sequence[str]) -> Problem:
    names = ", ".join(sorted(set(missing)))
    if set(missing) <= AUTOMATIC_ARGS:
        return Problem(line, f"{written!r} depends on the building machine ({names})")
    return Problem(line, f"{written!r} uses {names} with no value: give it in build_args")


def _flag_values(flags: Sequence[str], name: str) -> list[str]:
    prefix = f"--{name}="
    return [f[len(prefix):] for f in flags if f.lower().startswith(prefix)]


def _mount_from(mount: str) -> str | None:
    """The ``from=`` of a ``--mount`` value (``type=cache,from=img,target=/x``)."""
    for part in _split_csv(mount):
        key, sep, value = part.partition("=")
        if sep and key.strip().lower() == "from":
            return value.strip().strip('"')
    return None


def _split_csv(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _is_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VARIABLE = re.compile(
    r"\\\$|\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-+?]|##?|%%?)?(?P<word>[^}]*)\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def expand(text: str, values: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """``text`` with ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
    ``${VAR:+alt}``, ``${VAR+alt}``, ``${VAR#glob}`` and ``${VAR%glob}`` (and ``##``/``%%``)
    substituted, as BuildKit's lexer does; the names that had no value are returned too."""
    return _expand(text, values)


def _expand(text: str, values: Mapping[str, str | None]) -> tuple[str, list[str]]:
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "\\$":
            return "$"
        name = match.group("braced") or match.group("plain")
        value = values.get(name)
        op, word = match.group("op"), match.group("word") or ""
        if match.group("plain") is None and op is None and word:
            missing.append(name)  # ${VAR...} with an operator we do not know
            return whole
        if op in (":-", "-"):
            unset = value is None if op == "-" else not value
            return word if unset else str(value)
        if op in (":+", "+"):
            is_set = value is not None if op == "+" else bool(value)
            return word if is_set else ""
        if value is None or (op == ":?" and not value):
            missing.append(name)
            return whole
        if op in (":?", "?"):
            return value
        if op in ("#", "##", "%", "%%"):
            return _trim(value, word, op)
        return value

    result = _VARIABLE.sub(substitute, text)
    if len(result) > MAX_EXPANSION:
        return text, missing or ["(too long)"]
    return result, missing


def _trim(value: str, pattern: str, op: str) -> str:
    """Shell-style prefix (#, ##) or suffix (%, %%) removal with a glob pattern."""
    lengths = range(len(value) + 1)
    if op in ("##", "%%"):
        lengths = range(len(value), -1, -1)
    for n in lengths:
        part = value[:n] if op.startswith("#") else value[len(value) - n:]
        if fnmatch.fnmatchcase(part, pattern):
            return value[n:] if op.startswith("#") else value[: len(value) - n]
    return value
