"""Tag ordering: which offered tag is the newer version of the tag a user tracks.

A tag is only compared with tags of its own *family*: the same prefix (``v``, ``jammy-``), the
same format (version, or a date in one spelling), the same variant after the version
(``slim-bookworm``), the same precision (number of numeric components) and a build number on
both or on neither. :func:`rank_tags` returns two answers: the newest tag on the current
*line* (every component but the last kept) and the newest tag of the family. Every other
offered tag is rejected with a stable :class:`Reason`. Pure: no I/O. See ``docs/tags.md``.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import semver

__all__ = [
    "ParsedTag",
    "PreRelease",
    "Reason",
    "Strategy",
    "TagAnswer",
    "TagPolicy",
    "classify_tag",
    "parse_tag",
    "rank_tags",
]


class Strategy(StrEnum):
    """How tags are read. ``None`` in a policy means the heuristics (versions and dates)."""

    SEMVER = "semver"  # real semver (``v`` allowed, partial versions coerced)
    NUMERIC = "numeric"  # versions only: an 8-digit number is a number, not a date
    DATE = "date"  # dates only
    LEXICAL = "lexical"  # plain string order


class Reason(StrEnum):
    """Why an offered tag is not a candidate. The values are stable codes."""

    SAME = "same"
    EXCLUDED = "excluded"
    FLOATING = "floating"
    COMMIT = "commit"
    NOT_A_VERSION = "not-a-version"
    OTHER_PREFIX = "other-prefix"
    OTHER_FORMAT = "other-format"
    OTHER_VARIANT = "other-variant"
    OTHER_PRECISION = "other-precision"
    BUILD_MISMATCH = "build-mismatch"
    OLDER = "older"
    OUT_OF_RANGE = "out-of-range"
    PRE_RELEASE = "pre-release"

    @property
    def summary(self) -> str:
        """One line a person reads as a heading."""
        return _SUMMARIES[self]


_SUMMARIES = {
    Reason.SAME: "the current tag itself",
    Reason.EXCLUDED: "left out by the include/exclude patterns",
    Reason.FLOATING: "floating alias: moves to other versions, never a candidate",
    Reason.COMMIT: "commit id, not a version",
    Reason.NOT_A_VERSION: "looks like a version but does not parse as one",
    Reason.OTHER_PREFIX: "another prefix",
    Reason.OTHER_FORMAT: "another format (version vs date, or another date spelling)",
    Reason.OTHER_VARIANT: "another variant",
    Reason.OTHER_PRECISION: "another precision (number of components)",
    Reason.BUILD_MISMATCH: "build number on one side only",
    Reason.OLDER: "not newer than the current tag",
    Reason.OUT_OF_RANGE: "outside the version range",
    Reason.PRE_RELEASE: "pre-release not offered on this line",
}

# ---------------------------------------------------------------------------------------------
# Parsing

# Pre-release labels and their rank: dev < alpha < beta < rc < (stable).
_PRE_RANK = {
    "dev": 0,
    "a": 1,
    "alpha": 1,
    "ea": 1,
    "b": 2,
    "beta": 2,
    "preview": 2,
    "c": 3,
    "rc": 3,
    "pre": 3,
}
_STABLE_RANK = 4
_LABEL = r"alpha|beta|preview|pre|rc|dev|ea"
# A pre-release as its own dash-separated token: rc, rc1, rc.10, beta, ea, dev5.
_TOKEN_PRE = re.compile(rf"(?P<label>{_LABEL}|(?:a|b|c)(?=\.?\d))\.?(?P<num>\d+)?", re.IGNORECASE)
_HEAD = re.compile(r"(?P<prefix>v(?=\d)|(?:[A-Za-z][A-Za-z0-9]*-)+)?(?P<body>\d.*)", re.DOTALL)
# prefix, release, glued pre-release, _build, -rest: the shape of every version and date tag.
_VERSION = re.compile(
    r"(?P<prefix>v(?=\d)|(?:[A-Za-z][A-Za-z0-9]*-)+)?"
    r"(?P<release>\d+(?:\.\d+)*)"
    rf"(?:\.?(?P<label>{_LABEL}|(?:a|b|c)(?=\d))(?P<num>\d+)?)?"
    r"(?:_(?P<build>\d+))?"
    r"(?:-(?P<rest>.*))?",
    re.IGNORECASE | re.DOTALL,
)
_MAYBE_PRE = re.compile(rf"(?:^|-)(?:{_LABEL}|[abc]\.?\d)", re.IGNORECASE)
_DASHED_TAIL = re.compile(r"(?P<m>\d{2})-(?P<d>\d{2})(?:-(?P<rest>.*))?", re.DOTALL)
_COMMIT = re.compile(r"(?:sha-|git-|commit-|g)?(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}", re.IGNORECASE)
_SEMVER_HEAD = re.compile(r"(?P<prefix>v)?(?P<core>\d+(?:\.\d+){0,2})(?P<rest>[-+].*)?")
_MIN_YEAR, _MAX_YEAR = 1990, 2100
# Alias words that never name a version, even for the lexical strategy.
ALIASES = frozenset(
    {"latest", "stable", "mainline", "lts", "edge", "current", "nightly", "devel", "rolling",
     "unstable", "testing", "experimental", "master", "main", "tip", "beta", "rc", "dev"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PreRelease:
    """A pre-release marker: ``label`` as spelled (``RC``), its ``rank`` and ``number``."""

    label: str
    rank: int
    number: int | None

    def __str__(self) -> str:
        return self.label + ("" if self.number is None else str(self.number))


@dataclass(frozen=True, slots=True)
class ParsedTag:
    """A tag read as a version, a date, or (by policy) semver, a string or an extracted value.

    ``family`` decides what the tag may be compared with; ``key`` orders tags of one family
    (equal keys mean the same version spelled differently); ``line`` is what a same-line update
    keeps (``None``: no same-line update but the same release; ``()``: any newer value).
    """

    tag: str
    kind: str  # "version", "date", "semver", "lexical", "extract"
    prefix: str = ""
    release: tuple[int, ...] = ()
    pre: PreRelease | None = None
    build: int | None = None
    variant: str = ""
    date_style: str | None = None  # "compact" (20240115), "dotted" or "dashed"
    respin: int | None = None
    key: tuple[Any, ...] = field(default=(), compare=False, repr=False)
    line: tuple[Any, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def precision(self) -> int:
        return len(self.release)

    @property
    def format(self) -> str:
        return f"{self.kind}:{self.date_style}" if self.date_style else self.kind

    @property
    def version(self) -> str:
        """The numeric part as written in canonical form: ``3.12.7``, ``2024-01-15``."""
        if self.kind == "date":
            y, m, d = self.release
            return f"{y:04d}-{m:02d}-{d:02d}" + ("" if self.respin is None else f".{self.respin}")
        return ".".join(map(str, self.release))

    def family_mismatch(self, other: ParsedTag) -> tuple[Reason, str] | None:
        """Why ``other`` is not of this tag's family, or ``None`` when it is."""
        if other.prefix != self.prefix:
            return (
                Reason.OTHER_PREFIX,
                f"prefix {other.prefix or '(none)'!r}, not {self.prefix or '(none)'!r}",
            )
        if other.format != self.format:
            return Reason.OTHER_FORMAT, f"{other.format}, not {self.format}"
        if other.variant != self.variant:
            return (
                Reason.OTHER_VARIANT,
                f"variant {other.variant or '(none)'!r}, not {self.variant or '(none)'!r}",
            )
        if other.precision != self.precision and self.kind not in ("date", "lexical"):
            return Reason.OTHER_PRECISION, _components(other.precision) + f", not {self.precision}"
        if (other.build is None) != (self.build is None):
            if other.build is not None:
                return Reason.BUILD_MISMATCH, f"build {other.build}; {self.tag} has none"
            return Reason.BUILD_MISMATCH, f"no build number; {self.tag} has one"
        return None

    def on_line_of(self, current: ParsedTag) -> bool:
        """True when this tag stays on ``current``'s line (callers check the family first)."""
        if self.release == current.release and self.kind != "lexical":
            return True
        return current.line is not None and self.line == current.line

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "kind": self.kind,
            "prefix": self.prefix,
            "version": self.version,
            "pre_release": None if self.pre is None else str(self.pre),
            "build": self.build,
            "variant": self.variant,
            "precision": self.precision,
            "date_style": self.date_style,
        }


def _valid_date(y: str, m: str, d: str) -> tuple[int, int, int] | None:
    year, month, day = int(y), int(m), int(d)
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        datetime.date(year, month, day)
    except ValueError:
        return None
    return year, month, day


def _split_rest(rest: str | None) -> tuple[PreRelease | None, int | None, str] | None:
    """Read ``-tok-tok...`` after a version: optional build, one pre-release, the variant."""
    if rest is None:
        return None, None, ""
    if not _MAYBE_PRE.search(rest) and not rest[:1].isdigit():
        # The common case: a plain variant such as "slim-bookworm".
        empty_token = not rest or "--" in rest or rest[0] == "-" or rest[-1] == "-"
        return None if empty_token else (None, None, rest)
    tokens = rest.split("-")
    if any(not t for t in tokens):
        return None
    pre: PreRelease | None = None
    build: int | None = None
    variant: list[str] = []
    i = 0
    if tokens[0].isdigit():
        build, i = int(tokens[0]), 1
    while i < len(tokens):
        token = tokens[i]
        match = _TOKEN_PRE.fullmatch(token) if pre is None else None
        if match:
            number = match["num"]
            if number is None and i + 1 < len(tokens) and tokens[i + 1].isdigit():
                i += 1
                number = tokens[i]
            label = match["label"]
            pre = PreRelease(
                label, _PRE_RANK[label.lower()], None if number is None else int(number)
            )
        else:
            variant.append(token)
        i += 1
    return pre, build, "-".join(variant)


def _finish(tag: str, kind: str, prefix: str, release: tuple[int, ...], pre: PreRelease | None,
            build: int | None, variant: str, style: str | None = None,
            respin: int | None = None) -> ParsedTag:  # fmt: skip
    if kind == "date":
        key: tuple[Any, ...] = (release, respin or 0)
        line: tuple[Any, ...] | None = ()
    else:
        pre_key = (_STABLE_RANK, 0) if pre is None else (pre.rank, pre.number or 0)
        key = (release, pre_key, build or 0)
        line = release[:-1] if len(release) >= 2 else None
    return ParsedTag(tag, kind, prefix, release, pre, build, variant, style, respin, key, line)


def _parse_heuristic(tag: str, dates: bool, versions: bool) -> ParsedTag | Reason:
    if tag.lower() in ALIASES:
        return Reason.FLOATING
    if _COMMIT.fullmatch(tag):
        return Reason.COMMIT
    match = _VERSION.fullmatch(tag)
    if match is None:
        return Reason.NOT_A_VERSION if _HEAD.fullmatch(tag) else Reason.FLOATING
    prefix, text, label, rest = (
        match["prefix"] or "",
        match["release"],
        match["label"],
        match["rest"],
    )
    head = text.find(".")
    if (
        dates
        and label is None
        and match["build"] is None
        and (head if head >= 0 else len(text)) in (4, 8)
    ):
        date = _read_date(tag, prefix, text, rest)
        if date is not None:
            return date
    if not versions:
        return Reason.NOT_A_VERSION
    pre = None
    if label is not None:
        number = match["num"]
        pre = PreRelease(label, _PRE_RANK[label.lower()], None if number is None else int(number))
    build = None if match["build"] is None else int(match["build"])
    tail = _split_rest(rest)
    if (
        tail is None
        or (pre is not None and tail[0] is not None)
        or (build is not None and tail[1] is not None)
    ):
        return Reason.NOT_A_VERSION
    release = tuple(map(int, text.split(".")))
    return _finish(
        tag,
        "version",
        prefix,
        release,
        pre or tail[0],
        build if build is not None else tail[1],
        tail[2],
    )


def _read_date(tag: str, prefix: str, text: str, rest: str | None) -> ParsedTag | Reason | None:
    """A date tag (``20240115``, ``20240811.1``, ``2024.01.15``, ``2024-01-15``), else ``None``."""
    parts = text.split(".")
    style, respin = "compact", None
    if len(parts[0]) == 8 and len(parts) <= 2:
        ymd = _valid_date(parts[0][:4], parts[0][4:6], parts[0][6:])
        respin = int(parts[1]) if len(parts) == 2 else None
    elif len(parts) == 3 and tuple(map(len, parts)) == (4, 2, 2):
        ymd, style = _valid_date(*parts), "dotted"
    elif len(parts) == 1 and len(text) == 4 and rest is not None:
        dashed = _DASHED_TAIL.fullmatch(rest)
        if dashed is None:
            return None
        ymd, style, rest = _valid_date(text, dashed["m"], dashed["d"]), "dashed", dashed["rest"]
    else:
        return None
    if ymd is None:
        return None
    tail = _split_rest(rest)
    if tail is None or tail[0] is not None or tail[1] is not None:
        return Reason.NOT_A_VERSION
    return _finish(tag, "date", prefix, ymd, None, None, tail[2], style, respin)


def _parse_semver(tag: str) -> ParsedTag | Reason:
    head = _SEMVER_HEAD.fullmatch(tag)
    if head is None:
        return _parse_heuristic(tag, dates=False, versions=False)  # floating, commit or not
    try:
        version = semver.Version.parse(
            head["core"] + (head["rest"] or ""), optional_minor_and_patch=True
        )
    except ValueError:
        return Reason.NOT_A_VERSION
    release = tuple(int(p) for p in head["core"].split("."))
    pre = None if version.prerelease is None else PreRelease(version.prerelease, 0, None)
    line = release[:-1] if len(release) >= 2 else None
    return ParsedTag(tag, "semver", head["prefix"] or "", release, pre, None, "", None, None,
                     (version.replace(build=None),), line)  # fmt: skip


def _parse_extracted(tag: str, value: str, strategy: Strategy | None) -> ParsedTag | Reason:
    if strategy is Strategy.LEXICAL:
        return ParsedTag(tag, "lexical", key=(value,), line=())
    if strategy is Strategy.SEMVER:
        parsed = _parse_semver(value)
        if isinstance(parsed, Reason):
            return Reason.NOT_A_VERSION
        return ParsedTag(tag, "semver", release=parsed.release, pre=parsed.pre, key=parsed.key,
                         line=parsed.line if len(parsed.release) > 1 else ())  # fmt: skip
    if strategy is Strategy.DATE:
        parsed = _parse_heuristic(value, dates=True, versions=False)
        if isinstance(parsed, Reason) or parsed.variant or parsed.prefix:
            return Reason.NOT_A_VERSION
        return ParsedTag(tag, "date", release=parsed.release, date_style=parsed.date_style,
                         respin=parsed.respin, key=parsed.key, line=())  # fmt: skip
    parts = re.split(r"[._-]", value)
    if not all(part.isdigit() for part in parts):
        return Reason.NOT_A_VERSION
    release = tuple(int(part) for part in parts)
    line = release[:-1] if len(release) >= 2 else ()
    return ParsedTag(tag, "extract", release=release, key=(release,), line=line)


@functools.lru_cache(maxsize=65536)
def _parse(
    tag: str, strategy: Strategy | None, extract: re.Pattern[str] | None
) -> ParsedTag | Reason:
    if extract is not None:
        match = extract.search(tag)
        if match is None:
            return Reason.NOT_A_VERSION
        value = ".".join(group for group in match.groups() if group is not None)
        return _parse_extracted(tag, value, strategy) if value else Reason.NOT_A_VERSION
    if strategy is Strategy.SEMVER:
        return _parse_semver(tag)
    if strategy is Strategy.LEXICAL:
        if tag.lower() in ALIASES:
            return Reason.FLOATING
        if _COMMIT.fullmatch(tag):
            return Reason.COMMIT
        return ParsedTag(tag, "lexical", key=(tag,), line=())
    return _parse_heuristic(
        tag, dates=strategy in (None, Strategy.DATE), versions=strategy is not Strategy.DATE
    )


def parse_tag(tag: str, policy: TagPolicy | None = None) -> ParsedTag | None:
    """Read ``tag`` as the policy says (heuristics by default); ``None`` when it is no version."""
    parsed = classify_tag(tag, policy)
    return None if isinstance(parsed, Reason) else parsed


def classify_tag(tag: str, policy: TagPolicy | None = None) -> ParsedTag | Reason:
    """Like :func:`parse_tag`, but say why a tag is not a version (floating, commit, ...)."""
    policy = policy or _DEFAULT_POLICY
    return _parse(tag, policy.strategy_enum, policy.extract_pattern)


# ---------------------------------------------------------------------------------------------
# Policy

_RANGE_CLAUSE = re.compile(r"\s*(?P<op>>=|<=|==|!=|>|<|=)?\s*v?(?P<version>\d+(?:\.\d+){0,2})\s*")


def _compile(name: str, pattern: str | None, groups: bool = False) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{name}: invalid regular expression '{pattern}': {exc}") from None
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

    ``include``/``exclude`` must match the whole tag; ``extract`` is searched for and its capture
    groups form the comparable value.
    """

    include: str | None = None
    exclude: str | None = None
    strategy: str | None = None
    version_range: str | None = None
    extract: str | None = None
    include_pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    exclude_pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    extract_pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
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
        if self.include_pattern is not None and not self.include_pattern.fullmatch(tag):
            return f"does not match include '{self.include}'"
        if self.exclude_pattern is not None and self.exclude_pattern.fullmatch(tag):
            return f"matches exclude '{self.exclude}'"
        return None

    def in_range(self, parsed: ParsedTag) -> bool:
        if not self.range_clauses:
            return True
        if parsed.kind not in ("version", "semver", "extract"):
            return False
        core = (*parsed.release, 0, 0, 0)[:3]
        version = semver.Version(*core)
        return all(version.match(clause) for clause in self.range_clauses)


_DEFAULT_POLICY = TagPolicy()

# ---------------------------------------------------------------------------------------------
# Ranking


@dataclass(frozen=True, eq=False)
class TagAnswer:
    """What :func:`rank_tags` found. ``rejected`` maps each offered tag that is not a candidate
    to a :class:`Reason` (a ``str``); ``details`` says the same for people."""

    current: str
    same_line: str | None
    newest: str | None
    floating: bool
    parsed: ParsedTag | None
    candidates: list[str]
    rejected: dict[str, Reason]
    details: dict[str, str]
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "same_line": self.same_line,
            "newest": self.newest,
            "floating": self.floating,
            "parsed": None if self.parsed is None else self.parsed.to_dict(),
            "candidates": list(self.candidates),
            "rejected": {tag: reason.value for tag, reason in self.rejected.items()},
            "details": dict(self.details),
            "note": self.note,
        }


def rank_tags(current: str, tags: Iterable[str], policy: TagPolicy | None = None) -> TagAnswer:
    """Rank ``tags`` against ``current``: the newest on the current line, and the newest overall."""
    policy = policy or _DEFAULT_POLICY
    cur = classify_tag(current, policy)
    if isinstance(cur, Reason):
        floating = cur is Reason.FLOATING
        note = (
            f"{current!r} is a floating tag: it is watched by digest only"
            if floating
            else f"{current!r} is not a version ({cur.summary}): it is watched by digest only"
        )
        return TagAnswer(current, None, None, floating, None, [], {}, {}, note)

    rejected: dict[str, Reason] = {}
    details: dict[str, str] = {}
    found: list[ParsedTag] = []

    for tag in dict.fromkeys(tags):
        verdict = _judge(tag, cur, policy)
        if isinstance(verdict, ParsedTag):
            found.append(verdict)
        else:
            rejected[tag], details[tag] = verdict

    found.sort(key=lambda p: (p.key, p.tag), reverse=True)
    same_line = next((p.tag for p in found if p.on_line_of(cur)), None)
    newest = found[0].tag if found else None
    return TagAnswer(
        current, same_line, newest, False, cur, [p.tag for p in found], rejected, details
    )


def _judge(tag: str, cur: ParsedTag, policy: TagPolicy) -> ParsedTag | tuple[Reason, str]:
    """The parsed tag when it is a candidate, else the reason and a detail for people."""
    if tag == cur.tag:
        return Reason.SAME, "the current tag"
    why = policy.excludes(tag)
    if why is not None:
        return Reason.EXCLUDED, why
    parsed = _parse(tag, policy.strategy_enum, policy.extract_pattern)
    if isinstance(parsed, Reason):
        if parsed is Reason.NOT_A_VERSION and policy.extract is not None:
            return parsed, f"extract '{policy.extract}' finds no comparable value"
        return parsed, parsed.summary
    mismatch = cur.family_mismatch(parsed)
    if mismatch is not None:
        return mismatch
    if parsed.key <= cur.key:
        return (
            Reason.OLDER,
            f"{parsed.version}{_pre(parsed)} is not newer than {cur.version}{_pre(cur)}",
        )
    if not policy.in_range(parsed):
        return Reason.OUT_OF_RANGE, f"{parsed.version} is outside {policy.version_range!r}"
    if parsed.pre is not None:
        if cur.pre is None:
            return Reason.PRE_RELEASE, f"pre-release {parsed.pre}; {cur.tag} is a stable release"
        if not parsed.on_line_of(cur):
            return Reason.PRE_RELEASE, f"pre-release {parsed.pre} of another line"
    return parsed


def _components(count: int) -> str:
    return f"{count} component" + ("" if count == 1 else "s")


def _pre(parsed: ParsedTag) -> str:
    return "" if parsed.pre is None else f" ({parsed.pre})"
