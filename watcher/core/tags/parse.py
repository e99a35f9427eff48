"""Reading a tag: a version, a date, or (by policy) semver, a string or an extracted value.

:func:`classify_tag` says what a tag is, or why it is no version (a :class:`Reason`). The
heuristics know prefixes (``v``, ``jammy-``, ``legacy-v``), glued and dashed pre-releases, build
numbers, variants, three date spellings, calendar versions, MinIO's release stamps and
linuxserver's build-only tags; :mod:`.tail` reads what follows the numbers (metadata,
milestones, revisions, build counters). Pure: no I/O. See ``docs/tags.md``.
"""

from __future__ import annotations

import datetime
import functools
import re
from typing import Any

import semver

from watcher.core.tags.parsed import ParsedTag
from watcher.core.tags.pattern import UserPattern
from watcher.core.tags.policy import DEFAULT_POLICY, Strategy, TagPolicy
from watcher.core.tags.reason import Reason
from watcher.core.tags.tail import LABEL, PRE_RANK, PreRelease, Tail, read_tail

__all__ = ["ALIASES", "ParsedTag", "PreRelease", "classify_tag", "parse_tag"]


_STABLE_RANK = 4
_WORDS = r"(?:[A-Za-z][A-Za-z0-9]*-)"
_PREFIX = rf"{_WORDS}*v(?=\d)|{_WORDS}+"
_HEAD = re.compile(rf"(?P<prefix>{_PREFIX})?(?P<body>\d.*)", re.DOTALL)
# prefix, release, glued pre-release, _build, -rest: the shape of every version and date tag.
_VERSION = re.compile(
    rf"(?P<prefix>{_PREFIX})?"
    r"(?P<release>\d+(?:\.\d+)*)"
    rf"(?:\.?(?P<label>{LABEL}|(?:a|b|c)(?=\d))(?P<num>\d+)?)?"
    r"(?:_(?P<build>\d+))?"
    r"(?:-(?P<rest>.*))?",
    re.IGNORECASE | re.DOTALL,
)
_DASHED_TAIL = re.compile(r"(?P<m>\d{2})-(?P<d>\d{2})(?:-(?P<rest>.*))?", re.DOTALL)
MAX_TAG_LENGTH = 128  # Docker's limit
_COMMIT = re.compile(r"(?:sha-|git-|commit-|g)?(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}", re.IGNORECASE)
_SEMVER_HEAD = re.compile(r"(?P<prefix>v)?(?P<core>\d+(?:\.\d+){0,2})(?P<rest>[-+].*)?")
_MIN_YEAR, _MAX_YEAR = 1990, 2100
# MinIO: RELEASE.2023-05-04T21-44-30Z, then the variant (.fips, -cpuv1).
_TIMESTAMP = re.compile(
    rf"(?P<prefix>{_WORDS}*RELEASE\.)(?P<y>\d{{4}})-(?P<mo>\d{{2}})-(?P<d>\d{{2}})"
    r"T(?P<h>\d{2})-(?P<mi>\d{2})-(?P<s>\d{2})Z(?P<rest>(?:[-.][A-Za-z0-9][A-Za-z0-9.-]*)?)"
)
# linuxserver's build-only tags: [prefix-]<commit>-lsN.
_COMMIT_BUILD = re.compile(
    rf"(?P<prefix>{_WORDS}*)(?P<commit>(?=[0-9]*[a-f])[0-9a-f]{{7,40}})-ls(?P<n>\d{{1,9}})"
)
# Alias words that never name a version, even for the lexical strategy.
ALIASES = frozenset(
    {"latest", "stable", "mainline", "lts", "edge", "current", "nightly", "devel", "rolling",
     "unstable", "testing", "experimental", "master", "main", "tip", "beta", "rc", "dev"}
)  # fmt: skip


def _valid_date(y: str, m: str, d: str) -> tuple[int, int, int] | None:
    year, month, day = int(y), int(m), int(d)
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        datetime.date(year, month, day)
    except ValueError:
        return None
    return year, month, day


def _finish(tag: str, kind: str, prefix: str, release: tuple[int, ...], pre: PreRelease | None,
            build: int | None, tail: Tail, style: str | None = None,
            respin: int | None = None) -> ParsedTag:  # fmt: skip
    rebuilds = (tail.revision or 0, tail.counter or 0)
    if kind == "date":
        key: tuple[Any, ...] = (release, respin or 0, *rebuilds)
        line: tuple[Any, ...] | None = ()
    else:
        pre_key = (_STABLE_RANK, 0) if pre is None else (pre.rank, pre.number or 0)
        key = (release, pre_key, build or 0, *rebuilds)
        line = release[:-1] if len(release) >= 2 else None
    return ParsedTag(tag, kind, prefix, release, pre, build, tail.variant, style, respin, key,
                     line, tail.revision, tail.counter, tail.metadata)  # fmt: skip


def _parse_special(tag: str, dates: bool, versions: bool) -> ParsedTag | None:
    """MinIO's ``RELEASE.2023-05-04T21-44-30Z`` and linuxserver's ``[prefix-]<commit>-lsN``."""
    if dates and "RELEASE." in tag:
        match = _TIMESTAMP.fullmatch(tag)
        if match is None:
            return None
        ymd = _valid_date(match["y"], match["mo"], match["d"])
        hms = (int(match["h"]), int(match["mi"]), int(match["s"]))
        if ymd is None or hms[0] > 23 or hms[1] > 59 or hms[2] > 60:
            return None
        release = (*ymd, *hms)
        return ParsedTag(tag, "timestamp", match["prefix"], release,
                         variant=match["rest"].lstrip("-."), key=(release,), line=())  # fmt: skip
    if versions and "-ls" in tag:
        match = _COMMIT_BUILD.fullmatch(tag)
        if match is not None:
            counter = int(match["n"])
            return ParsedTag(tag, "counter", match["prefix"] or "", key=(counter,), line=(),
                             counter=counter, metadata=(match["commit"],))  # fmt: skip
    return None


def _parse_heuristic(tag: str, dates: bool, versions: bool) -> ParsedTag | Reason:
    if tag.lower() in ALIASES:
        return Reason.FLOATING
    if _COMMIT.fullmatch(tag):
        return Reason.COMMIT
    special = _parse_special(tag, dates, versions)
    if special is not None:
        return special
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
        pre = PreRelease(label, PRE_RANK[label.lower()], None if number is None else int(number))
    build = None if match["build"] is None else int(match["build"])
    tail = read_tail(rest)
    if (
        tail is None
        or (pre is not None and tail.pre is not None)
        or (build is not None and tail.build is not None)
    ):
        return Reason.NOT_A_VERSION
    release = tuple(map(int, text.split(".")))
    # A calendar version (2024.7.0, Home Assistant's 2024.12.3) is its own kind.
    calendar = len(release) >= 2 and head == 4 and _MIN_YEAR <= release[0] <= _MAX_YEAR
    return _finish(
        tag,
        "calver" if calendar else "version",
        prefix,
        release,
        pre or tail.pre,
        build if build is not None else tail.build,
        tail,
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
    tail = read_tail(rest)
    if tail is None or tail.pre is not None or tail.build is not None:
        return Reason.NOT_A_VERSION
    return _finish(tag, "date", prefix, ymd, None, None, tail, style, respin)


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
def _parse(tag: str, strategy: Strategy | None, extract: UserPattern | None) -> ParsedTag | Reason:
    if extract is not None:
        groups = extract.search(tag)
        if groups is None:
            return Reason.NOT_A_VERSION
        value = ".".join(group for group in groups if group is not None)
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
