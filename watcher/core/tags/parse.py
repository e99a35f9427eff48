"""Reading a tag: a version, a date, or (by policy) semver, a string or an extracted value.

:func:`classify_tag` says what a tag is, or why it is no version (a :class:`Reason`). The
heuristics know prefixes (``v``, ``jammy-``), glued and dashed pre-releases, build numbers,
variants and three date spellings. Pure: no I/O. See ``docs/tags.md``.
"""

from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass, field
from typing import Any

import semver

from watcher.core.tags.policy import DEFAULT_POLICY, Strategy, TagPolicy
from watcher.core.tags.reason import Reason

__all__ = ["ALIASES", "ParsedTag", "PreRelease", "classify_tag", "parse_tag"]


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
MAX_TAG_LENGTH = 128  # Docker's limit
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


def _components(count: int) -> str:
    return f"{count} component" + ("" if count == 1 else "s")


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
    if len(tag) > MAX_TAG_LENGTH:  # not a Docker tag at all; and int() refuses 4,300+ digits
        return Reason.NOT_A_VERSION
    policy = policy or DEFAULT_POLICY
    return _parse(tag, policy.strategy_enum, policy.extract_pattern)
