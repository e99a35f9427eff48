"""Per-image tag policy: which tags are offered (include/exclude, range) and how they are read.

:class:`TagPolicy` checks and compiles its settings when built; a bad value raises ``ValueError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import semver

from watcher.core.tags.pattern import UserPattern

if TYPE_CHECKING:
    from watcher.core.tags.parse import ParsedTag

__all__ = ["DEFAULT_POLICY", "Strategy", "TagPolicy"]


class Strategy(StrEnum):
    """How tags are read. ``None`` in a policy means the heuristics (versions and dates)."""

    SEMVER = "semver"  # real semver (``v`` allowed, partial versions coerced)
    NUMERIC = "numeric"  # versions only: an 8-digit number is a number, not a date
    DATE = "date"  # dates only
    LEXICAL = "lexical"  # plain string order


_RANGE_CLAUSE = re.compile(r"\s*(?P<op>>=|<=|==|!=|>|<|=)?\s*v?(?P<version>\d+(?:\.\d+){0,2})\s*")


def _compile(name: str, pattern: str | None, groups: bool = False) -> UserPattern | None:
    if pattern is None:
        return None
    try:
        compiled = UserPattern.compile(pattern)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if groups and compiled.groups < 1:
        raise ValueError(f"{name}: '{pattern}' needs a capture group around the comparable part")
    return compiled


def _compile_range(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    clauses = []
    for raw in text.split(","):
        match = _RANGE_CLAUSE.fullmatch(raw)
        if match is None:
            raise ValueError(
                f"range: cannot read {raw.strip()!r} in {text!r}; write clauses such as '>=3.12,<4'"
            )
        version = semver.Version.parse(match["version"], optional_minor_and_patch=True)
        op = match["op"] or "=="
        clauses.append(("==" if op == "=" else op) + str(version))
    return tuple(clauses)


@dataclass(frozen=True)
class TagPolicy:
    """Per-image overrides. Config keys: ``include``, ``exclude``, ``strategy``, ``range``,
    ``extract``. Regexes are checked and compiled here; a bad value raises ``ValueError``.

    ``include``/``exclude`` are searched for anywhere in the tag (anchor with ``^``/``$`` to match
    the whole tag); ``extract`` is searched for too and its capture groups form the comparable
    value. Patterns are matched in linear time (RE2), so no tag can make one hang.
    """

    include: str | None = None
    exclude: str | None = None
    strategy: str | None = None
    version_range: str | None = None
    extract: str | None = None
    include_pattern: UserPattern | None = field(init=False, repr=False, compare=False)
    exclude_pattern: UserPattern | None = field(init=False, repr=False, compare=False)
    extract_pattern: UserPattern | None = field(init=False, repr=False, compare=False)
    strategy_enum: Strategy | None = field(init=False, repr=False, compare=False)
    range_clauses: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.strategy is not None and self.strategy not in Strategy.__members__.values():
            choices = ", ".join(s.value for s in Strategy)
            raise ValueError(
                f"strategy: unknown strategy {self.strategy!r}; choose one of {choices}"
            )
        strategy = None if self.strategy is None else Strategy(self.strategy)
        if self.version_range is not None and strategy in (Strategy.DATE, Strategy.LEXICAL):
            raise ValueError(f"range: a version range does not apply to the {strategy} strategy")
        object.__setattr__(self, "strategy_enum", strategy)
        object.__setattr__(self, "include_pattern", _compile("include", self.include))
        object.__setattr__(self, "exclude_pattern", _compile("exclude", self.exclude))
        object.__setattr__(self, "extract_pattern", _compile("extract", self.extract, groups=True))
        object.__setattr__(self, "range_clauses", _compile_range(self.version_range))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TagPolicy:
        """Build from an ``[[images]]`` config entry's keys; unknown keys are an error."""
        known = {"include", "exclude", "strategy", "range", "extract"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown tag policy key(s) {unknown}; known keys: {sorted(known)}")
        for key, value in values.items():
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{key}: expected a string, got {type(value).__name__}")
        return cls(values.get("include"), values.get("exclude"), values.get("strategy"),
                   values.get("range"), values.get("extract"))  # fmt: skip

    def excludes(self, tag: str) -> str | None:
        """Why the include/exclude patterns leave ``tag`` out, or ``None``."""
        if self.include_pattern is not None and self.include_pattern.search(tag) is None:
            return f"does not match include '{self.include}'"
        if self.exclude_pattern is not None and self.exclude_pattern.search(tag) is not None:
            return f"matches exclude '{self.exclude}'"
        return None

    def in_range(self, parsed: ParsedTag) -> bool:
        if not self.range_clauses:
            return True
        if parsed.kind not in ("version", "calver", "semver", "extract"):
            return False
        core = (*parsed.release, 0, 0, 0)[:3]
        version = semver.Version(*core)
        return all(version.match(clause) for clause in self.range_clauses)


DEFAULT_POLICY = TagPolicy()
