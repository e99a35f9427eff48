"""Rebase targets (the same version on a newer OS line) and precise-tag candidates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.core.tags.lines import MAX_CANDIDATES, os_line, precise_candidates, rebase_targets

PYTHON = ["3.12-slim", "3.12.7-slim", "3.12.7-slim-bookworm", "3.12.8-slim",
          "3.12.8-slim-bookworm", "3.12.8-slim-trixie", "3.12.8-slim-bullseye", "3.12.8",
          "3.12.8-bookworm", "3.12.9rc1-slim", "3.13.0-slim-trixie", "3.12-slim-trixie",
          "latest", "3.13", "3.13.1", "3.13.1-slim", "3.12.8-alpine3.20", "3.12.8-alpine3.21",
          "3.12.8-alpine3.19", "3.12.8-slim-trixie-fips", "3.12.8-trixie"]


@pytest.mark.parametrize(("current", "expected"), [
    ("3.12.8-slim-bookworm", ["3.12.8-slim-trixie"]),
    ("3.12.8-slim-bullseye", ["3.12.8-slim-trixie", "3.12.8-slim-bookworm"]),
    ("3.12.8-alpine3.20", ["3.12.8-alpine3.21"]),
    ("3.12.8-bookworm", ["3.12.8-trixie"]),
    ("3.12-slim", []),              # no OS line in the tag
    ("3.12.8-slim-trixie", []),     # the newest line already
    ("3.12.8-slim", []),
    ("latest", []),
])
def test_rebase_targets(current: str, expected: list[str]) -> None:
    assert rebase_targets(current, PYTHON) == expected


@pytest.mark.parametrize(("current", "offered", "expected"), [
    ("1.27.3-alpine3.20", ["1.27.3-alpine3.21", "1.27.4-alpine3.21"], ["1.27.3-alpine3.21"]),
    ("8.0.36-debian-12-r5", ["8.0.36-debian-13-r5", "8.0.36-debian-13-r1"],
     ["8.0.36-debian-13-r5"]),
    ("22.04-jammy", ["22.04-noble", "22.04-focal"], ["22.04-noble"]),
    ("17-jdk-alpine3.20", ["17-jdk-alpine3.21", "17-jre-alpine3.21"], ["17-jdk-alpine3.21"]),
    ("3.12.8-slim-bookworm", ["3.12.8-slim-jammy"], []),  # another distribution
])
def test_rebase_targets_of_other_images(current: str, offered: list[str],
                                        expected: list[str]) -> None:
    assert rebase_targets(current, offered) == expected


def test_os_lines() -> None:
    assert os_line("slim-bookworm") is not None
    assert os_line("alpine3.21") is not None
    assert os_line("slim") is None
    assert os_line("windowsservercore-ltsc2022") is None
    bookworm, trixie = os_line("bookworm"), os_line("trixie")
    assert bookworm is not None and trixie is not None  # noqa: PT018
    assert bookworm.order < trixie.order
    older, newer = os_line("alpine3.9"), os_line("alpine3.20")
    assert older is not None and newer is not None  # noqa: PT018
    assert older.order < newer.order


def test_a_floating_minor_tag_names_its_patch_releases_newest_and_most_precise_first() -> None:
    assert precise_candidates("3.12-slim", PYTHON) == [
        "3.12.8-slim-trixie", "3.12.8-slim-bookworm", "3.12.8-slim-bullseye", "3.12.8-slim",
        "3.12.7-slim-bookworm", "3.12.7-slim"]
    assert "3.12.9rc1-slim" not in precise_candidates("3.12-slim", PYTHON, limit=50)
    assert "3.12.8-slim-trixie-fips" not in precise_candidates("3.12-slim", PYTHON, limit=50)


def test_floating_aliases_are_compared_with_plain_releases() -> None:
    assert precise_candidates("latest", PYTHON) == ["3.13.1", "3.13", "3.12.8"]
    assert precise_candidates("3.12.8-slim-bookworm", PYTHON) == []


@given(st.lists(st.from_regex(r"[0-9a-z.\-]{1,20}", fullmatch=True), max_size=40),
       st.sampled_from(["3.12-slim", "latest", "3", "1.2.3-alpine3.20", "bookworm"]))
def test_never_more_than_the_limit_never_the_tag_itself(tags: list[str], current: str) -> None:
    found = precise_candidates(current, tags)
    assert len(found) <= MAX_CANDIDATES
    assert current not in found
    assert set(found) <= set(tags)
    assert current not in rebase_targets(current, tags)
