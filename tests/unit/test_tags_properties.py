"""Properties of the ordering, over generated tags: a strict total order within a family, and
answers that are never older than the current tag, never the tag itself, never of another family.
"""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.core.tags import ParsedTag, parse_tag, rank_tags

FAST = settings(max_examples=150, deadline=None)

PREFIXES = ["", "v"]
VARIANTS = ["", "alpine", "alpine3.20", "slim-bookworm", "windowsservercore-ltsc2022"]
PRE_LABELS = {"dev": 0, "a": 1, "alpha": 1, "b": 2, "beta": 2, "rc": 3, "RC": 3}


@st.composite
def version_tags(draw: st.DrawFn, stable_only: bool = False) -> tuple[str, tuple[Any, ...]]:
    """A version tag and its expected order key, built independently of the parser."""
    prefix = draw(st.sampled_from(PREFIXES))
    release = draw(st.lists(st.integers(0, 25), min_size=1, max_size=4))
    # Small numbers: an 8-digit one would read as a date.
    text = prefix + ".".join(map(str, release))
    pre_key: tuple[int, int] = (4, 0)
    if not stable_only and draw(st.booleans()):
        label = draw(st.sampled_from(sorted(PRE_LABELS)))
        number = draw(st.integers(1, 12))
        separator = draw(st.sampled_from(["", "-"])) if label not in ("a", "b") else ""
        if separator == "-" and label in ("rc", "RC", "beta", "alpha"):
            text += f"-{label}.{number}"
        else:
            text += f"{separator}{label}{number}"
        pre_key = (PRE_LABELS[label], number)
    build = draw(st.none() | st.integers(1, 30))
    if build is not None:
        text += f"_{build}"
    variant = draw(st.sampled_from(VARIANTS))
    if variant:
        text += f"-{variant}"
    return text, (tuple(release), pre_key, build or 0)


@st.composite
def date_tags(draw: st.DrawFn) -> tuple[str, tuple[Any, ...]]:
    day = draw(st.dates(datetime.date(2015, 1, 1), datetime.date(2030, 12, 31)))
    prefix = draw(st.sampled_from(["", "jammy-"]))
    respin = draw(st.none() | st.integers(1, 3))
    text = prefix + day.strftime("%Y%m%d") + ("" if respin is None else f".{respin}")
    return text, ((day.year, day.month, day.day), respin or 0)


def _parsed(tag: str) -> ParsedTag:
    parsed = parse_tag(tag)
    assert parsed is not None, tag
    return parsed


def _same_family(a: ParsedTag, b: ParsedTag) -> bool:
    return a.family_mismatch(b) is None


def _newer(a: str, b: str) -> bool:
    """``b`` is offered as newer than ``a``."""
    return rank_tags(a, [b]).candidates == [b]


@FAST
@given(version_tags(), version_tags())
def test_parsing_agrees_with_the_generated_key(a: tuple[str, Any], b: tuple[str, Any]) -> None:
    (tag_a, key_a), (tag_b, key_b) = a, b
    pa, pb = _parsed(tag_a), _parsed(tag_b)
    if _same_family(pa, pb):
        assert (pa.key < pb.key) == (key_a < key_b)
        assert (pa.key == pb.key) == (key_a == key_b)


@FAST
@given(st.lists(version_tags(stable_only=True) | date_tags(), min_size=2, max_size=3))
def test_order_within_a_family_is_strict_and_total(tags: list[tuple[str, Any]]) -> None:
    names = [tag for tag, _ in tags]
    parsed = [_parsed(tag) for tag in names]
    for i, a in enumerate(parsed):
        for j, b in enumerate(parsed):
            if i == j or not _same_family(a, b) or a.key == b.key:
                continue
            # Antisymmetric and total: exactly one of the two is newer.
            assert _newer(a.tag, b.tag) != _newer(b.tag, a.tag)
    if len(parsed) == 3 and all(_same_family(parsed[0], p) for p in parsed):
        first, second, third = names
        if _newer(first, second) and _newer(second, third):
            assert _newer(first, third)


@FAST
@given(
    version_tags() | date_tags(),
    st.lists(version_tags() | date_tags(), max_size=25),
    st.sampled_from(["latest", "7b3e9f1", "sha-3f2a1bc", "8u392-b08-jdk", "bookworm"]),
)
def test_answers_are_newer_same_family_and_never_the_current_tag(
    current: tuple[str, Any], offered: list[tuple[str, Any]], noise: str
) -> None:
    tags = [tag for tag, _ in offered] + [noise, current[0]]
    answer = rank_tags(current[0], tags)
    cur = _parsed(current[0])
    assert current[0] not in answer.candidates
    assert noise not in answer.candidates
    for tag in answer.candidates:
        candidate = _parsed(tag)
        assert _same_family(cur, candidate)
        assert candidate.key > cur.key
        if candidate.pre is not None:
            assert cur.pre is not None
    for answered in (answer.same_line, answer.newest):
        assert answered is None or answered in answer.candidates
    if answer.candidates:
        assert answer.newest == answer.candidates[0]
    else:
        assert answer.same_line is None
        assert answer.newest is None
    assert set(answer.candidates) | set(answer.rejected) == set(tags)
    keys = [_parsed(tag).key for tag in answer.candidates]
    assert keys == sorted(keys, reverse=True)


@FAST
@given(version_tags(stable_only=True), st.lists(version_tags(stable_only=True), max_size=20))
def test_same_line_keeps_every_component_but_the_last(
    current: tuple[str, Any], offered: list[tuple[str, Any]]
) -> None:
    answer = rank_tags(current[0], [tag for tag, _ in offered])
    if answer.same_line is None:
        return
    cur, line = _parsed(current[0]), _parsed(answer.same_line)
    assert cur.precision >= 2 or line.release == cur.release
    assert line.release[:-1] == cur.release[:-1]
