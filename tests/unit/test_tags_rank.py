"""rank_tags: the same-line and newest answers, and the reason given for every other tag."""

from __future__ import annotations

import json

import pytest

from watcher.core.tags import Reason, TagAnswer, rank_tags


def _rank(current: str, *tags: str) -> TagAnswer:
    return rank_tags(current=current, tags=list(tags))


# (current, offered tags, same_line, newest)
ANSWERS = [
    pytest.param(
        "3.12.7-slim-bookworm",
        ["3.12.8-slim-bookworm", "3.13.0-slim-bookworm", "3.14.1-slim-bookworm"],
        "3.12.8-slim-bookworm",
        "3.14.1-slim-bookworm",
        id="patch-on-line-major-anywhere",
    ),
    pytest.param("3.12", ["3.13", "3.14", "4.0"], "3.14", "4.0", id="two-components-keep-major"),
    pytest.param("22.04", ["22.10", "24.04"], "22.10", "24.04", id="ubuntu-versions"),
    pytest.param("20-alpine", ["22-alpine", "24-alpine"], None, "24-alpine", id="one-component"),
    pytest.param("1.9", ["1.10", "1.2"], "1.10", "1.10", id="1.10-after-1.9"),
    pytest.param("9.0.93", ["9.0.121", "9.0.100"], "9.0.121", "9.0.121", id="9.0.121-after-9.0.93"),
    pytest.param(
        "2025-06-03", ["2025-08-05", "2025-01-01"], "2025-08-05", "2025-08-05", id="dash-date"
    ),
    pytest.param("20240115", ["20231231", "20250101"], "20250101", "20250101", id="compact-date"),
    pytest.param(
        "oracular-20240811",
        ["oracular-20240811.1", "oracular-20240801.3"],
        "oracular-20240811.1",
        "oracular-20240811.1",
        id="respin-after-its-date",
    ),
    pytest.param(
        "oracular-20240811.1",
        ["oracular-20240811.2", "oracular-20240812"],
        "oracular-20240812",
        "oracular-20240812",
        id="next-date-after-respins",
    ),
    pytest.param(
        "17.0.9_9-jdk",
        ["17.0.9_10-jdk", "17.0.10_7-jdk", "21.0.1_12-jdk"],
        "17.0.10_7-jdk",
        "21.0.1_12-jdk",
        id="temurin-builds",
    ),
    pytest.param("1.2.3-1", ["1.2.3-2", "1.2.3-10"], "1.2.3-10", "1.2.3-10", id="numeric-build"),
    pytest.param("v3.7.10", ["3.7.11", "v3.7.11", "v3.8.0"], "v3.7.11", "v3.8.0", id="v-prefix"),
    pytest.param("3.7.10", ["3.7.11", "v3.7.12"], "3.7.11", "3.7.11", id="no-prefix"),
    pytest.param(
        "cli-2.11.0-php8.2",
        ["cli-2.12.0-php8.2", "7.1.0-php8.2"],
        None,
        "cli-2.12.0-php8.2",
        id="word-prefix",
    ),
    pytest.param(
        "1.27-alpine",
        ["1.28-alpine3.20", "1.28-alpine", "1.29-windowsservercore"],
        "1.28-alpine",
        "1.28-alpine",
        id="variant-exact",
    ),
    pytest.param("latest", ["1.0", "2.0"], None, None, id="floating-current"),
]


@pytest.mark.parametrize(("current", "tags", "same_line", "newest"), ANSWERS)
def test_answers(current: str, tags: list[str], same_line: str | None, newest: str | None) -> None:
    answer = rank_tags(current, tags)
    assert (answer.same_line, answer.newest) == (same_line, newest)


# (current, offered tag, reason it is rejected)
REJECTIONS = [
    ("3.12.7", "latest", Reason.FLOATING),
    ("3.12.7", "nightly", Reason.FLOATING),
    ("3.12.7", "stable", Reason.FLOATING),
    ("3.12.7", "bookworm", Reason.FLOATING),
    ("3.12.7", "7b3e9f1", Reason.COMMIT),  # a commit id, not version 7
    ("3", "7b3e9f1", Reason.COMMIT),
    ("3.12.7", "sha-3f2a1bc", Reason.COMMIT),
    ("8-jdk", "8u392-b08-jdk", Reason.NOT_A_VERSION),
    ("3.12.7", "3.12.7", Reason.SAME),
    ("3.12.7", "3.12.6", Reason.OLDER),
    ("3.12.7", "3.12.07", Reason.OLDER),  # the same version, spelled differently
    ("3.12.7-alpine", "3.12.8-windowsservercore", Reason.OTHER_VARIANT),
    ("3.12.7-alpine", "3.12.8-alpine3.20", Reason.OTHER_VARIANT),
    ("3.12.7-alpine3.20", "3.12.8-alpine", Reason.OTHER_VARIANT),
    ("3.12.7-slim-bookworm", "3.12.8-slim", Reason.OTHER_VARIANT),
    ("3.12.7", "3.13", Reason.OTHER_PRECISION),
    ("3.12", "3.13.1", Reason.OTHER_PRECISION),
    ("v3.7.11", "3.7.12", Reason.OTHER_PREFIX),
    ("3.7.11", "v3.7.12", Reason.OTHER_PREFIX),
    ("jammy-20240115", "noble-20240301", Reason.OTHER_PREFIX),
    ("20240115", "2024.03.01", Reason.OTHER_FORMAT),
    ("20240115", "2024-03-01", Reason.OTHER_FORMAT),
    ("3.20", "20260805", Reason.OTHER_FORMAT),
    ("17.0.9_9-jdk", "17.0.10-jdk", Reason.BUILD_MISMATCH),
    ("17.0.9-jdk", "17.0.10_7-jdk", Reason.BUILD_MISMATCH),
    ("1.2.3", "1.2.4-1", Reason.BUILD_MISMATCH),
    ("3.13.1", "3.14.0b1", Reason.PRE_RELEASE),  # no beta offered on a stable tag
    ("3.13.1", "3.14.0rc1", Reason.PRE_RELEASE),
    ("8.4.24", "8.4.25RC1", Reason.PRE_RELEASE),
    ("1.9.0", "2.0.0-rc.1", Reason.PRE_RELEASE),
    ("3.14-slim", "3.15-rc-slim", Reason.PRE_RELEASE),
    ("3.14.0rc1", "3.15.0a1", Reason.PRE_RELEASE),  # a pre-release of another line
    ("19beta3", "20beta1", Reason.PRE_RELEASE),
]


@pytest.mark.parametrize(("current", "tag", "reason"), REJECTIONS)
def test_rejections(current: str, tag: str, reason: Reason) -> None:
    answer = _rank(current, tag)
    assert answer.candidates == []
    assert answer.rejected == {tag: reason}
    assert answer.details[tag]


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("3.14.0rc1", "3.14.0rc2"),
        ("3.14.0rc2", "3.14.0"),
        ("3.14.0a9", "3.14.0b1"),
        ("3.14.0b9", "3.14.0rc1"),
        ("3.14.0.dev9", "3.14.0a1"),
        ("3.14.0dev9", "3.14.0alpha1"),
        ("2.0.0-rc.9", "2.0.0-rc.10"),
        ("2.0.0-RC.9", "2.0.0-rc.10"),
        ("2.0.0-beta", "2.0.0-rc"),
        ("8.4.25RC1", "8.4.25"),
        ("3.5-dev5", "3.5"),
        ("28-ea-10-jdk", "28-ea-11-jdk"),
        ("27-rc-jdk", "27-jdk"),
        ("13.0.1-rc", "13.0.1"),
    ],
)
def test_pre_release_user_moves_up(older: str, newer: str) -> None:
    answer = _rank(older, newer)
    assert answer.candidates == [newer], answer.details
    assert answer.same_line == newer
    # ... and never back down.
    assert _rank(newer, older).candidates == []


def test_pre_release_user_gets_newer_pre_releases_of_its_line_and_stable_releases() -> None:
    answer = _rank("3.14.0rc1", "3.14.0rc2", "3.14.0", "3.14.1", "3.15.0a1", "3.15.0", "3.13.9")
    assert answer.candidates == ["3.15.0", "3.14.1", "3.14.0", "3.14.0rc2"]
    assert answer.same_line == "3.14.1"
    assert answer.newest == "3.15.0"
    assert answer.rejected == {"3.15.0a1": Reason.PRE_RELEASE, "3.13.9": Reason.OLDER}


def test_floating_current_is_watched_by_digest_only() -> None:
    answer = _rank("bookworm", "12.5", "13.1")
    assert answer.floating is True
    assert (answer.same_line, answer.newest, answer.parsed) == (None, None, None)
    assert answer.candidates == []
    assert answer.note is not None
    assert "digest" in answer.note


def test_current_that_is_no_version_is_not_ranked_but_not_floating() -> None:
    answer = _rank("8u392-b08-jdk", "8u402-b06-jdk")
    assert answer.floating is False
    assert (answer.same_line, answer.newest) == (None, None)
    assert answer.note is not None
    assert "not a version" in answer.note


def test_candidates_are_newest_first_and_duplicates_count_once() -> None:
    answer = _rank("1.9", "1.10", "1.11", "1.10", "2.0", "1.2")
    assert answer.candidates == ["2.0", "1.11", "1.10"]
    assert answer.rejected == {"1.2": Reason.OLDER}


def test_every_offered_tag_is_a_candidate_or_rejected() -> None:
    offered = ["3.12.8", "3.12.7", "3.13", "latest", "3.12.8-alpine", "3.13.0rc1", "3.11.0"]
    answer = rank_tags("3.12.7", offered)
    assert set(answer.candidates) | set(answer.rejected) == set(offered)
    assert not set(answer.candidates) & set(answer.rejected)


def test_to_dict_is_json() -> None:
    answer = _rank("3.12.7-slim", "3.12.8-slim", "3.13.0-slim", "latest", "3.12.8")
    data = json.loads(json.dumps(answer.to_dict()))
    assert data["current"] == "3.12.7-slim"
    assert data["same_line"] == "3.12.8-slim"
    assert data["newest"] == "3.13.0-slim"
    assert data["floating"] is False
    assert data["candidates"] == ["3.13.0-slim", "3.12.8-slim"]
    assert data["rejected"] == {"latest": "floating", "3.12.8": "other-variant"}
    assert data["parsed"]["variant"] == "slim"
    assert data["parsed"]["precision"] == 3


def test_reasons_are_stable_strings() -> None:
    assert {r.value for r in Reason} == {
        "same",
        "excluded",
        "floating",
        "commit",
        "not-a-version",
        "other-prefix",
        "other-format",
        "other-variant",
        "other-precision",
        "build-mismatch",
        "older",
        "out-of-range",
        "pre-release",
    }
    assert all(reason.summary for reason in Reason)


def test_a_tag_longer_than_docker_allows_is_not_a_version() -> None:
    huge = "1" * 5000
    answer = rank_tags("1.0", ["1.1", huge, f"1.{huge}"])
    assert answer.same_line == "1.1"
    assert answer.rejected[huge] == "not-a-version"
    assert answer.rejected[f"1.{huge}"] == "not-a-version"
