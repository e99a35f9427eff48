"""Pure rules over stored state: what needs attention, what fails a CI gate, platform
spellings, and a registry whose every tracked tag vanished in one round."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from watcher.core.changes import EventKind, ImageState, NewerVersions, Observation
from watcher.core.platform import missing_platforms, normalize_platform
from watcher.core.round import RoundItem, registry_failed, vanished_registries
from watcher.core.status import (
    Attention,
    Concern,
    attention,
    concerns,
    parse_fail_on,
    unacknowledged_newer,
)

SEEN = ImageState("docker.io/library/python:3.12", digest="sha256:" + "a" * 64)


def test_newer_versions_can_be_acknowledged_one_version_at_a_time() -> None:
    offered = replace(SEEN, newer=NewerVersions("3.12.9", "3.14.0"))
    assert unacknowledged_newer(offered) == ("3.12.9", "3.14.0")
    assert attention(offered) is Attention.NEWER_VERSION
    assert concerns(offered) == {Concern.NEWER}

    acked = replace(offered, acknowledged_same_line="3.12.9", acknowledged_newest="3.14.0")
    assert unacknowledged_newer(acked) == ()
    assert attention(acked) is Attention.UP_TO_DATE
    assert concerns(acked) == frozenset()

    # A still newer tag is on offer again.
    newer = replace(acked, newer=NewerVersions("3.12.10", "3.14.0"))
    assert unacknowledged_newer(newer) == ("3.12.10",)
    assert attention(newer) is Attention.NEWER_VERSION


def test_concerns_name_everything_not_only_the_most_urgent() -> None:
    state = replace(SEEN, newer=NewerVersions(None, "3.14.0"), failure_count=2)
    assert concerns(state, [EventKind.DIGEST_CHANGED, EventKind.NEW_VERSION]) == set(Concern)
    assert attention(state, [EventKind.DIGEST_CHANGED]) is Attention.REBUILD_NEEDED
    assert concerns(state, [EventKind.NEW_VERSION]) == {Concern.NEWER, Concern.FAILING}
    # Never checked successfully (a 404 typo): failing, and it counts.
    typo = ImageState("docker.io/library/pyhton:3.12", failure_count=1)
    assert concerns(typo) == {Concern.FAILING}
    assert attention(typo) is Attention.FAILING


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rebuild", {Concern.REBUILD}),
        ("rebuild,newer,failing", set(Concern)),
        (" Failing , newer ", {Concern.FAILING, Concern.NEWER}),
    ],
)
def test_parse_fail_on(text: str, expected: set[Concern]) -> None:
    assert parse_fail_on(text) == expected


@pytest.mark.parametrize(("text", "message"), [("", "empty"), ("rebuild,later", "'later'")])
def test_parse_fail_on_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fail_on(text)


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/aarch64", "linux/arm64"),
        ("Linux/ARM64/V8", "linux/arm64"),
        ("linux/arm64/v9", "linux/arm64/v9"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/armhf", "linux/arm/v7"),
        ("linux/arm/6", "linux/arm/v6"),
        ("linux/amd64/v1", "linux/amd64"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/i386", "linux/386"),
        ("windows/amd64", "windows/amd64"),
        ("macos/arm64", "darwin/arm64"),
        ("not-a-platform", "not-a-platform"),
    ],
)
def test_normalize_platform(spelling: str, canonical: str) -> None:
    assert normalize_platform(spelling) == canonical


def test_missing_platforms() -> None:
    index = {"linux/amd64": "sha256:1", "linux/arm64/v8": "sha256:2", "unknown/unknown": "x"}
    assert missing_platforms({"linux/arm64", "linux/amd64"}, index) == []
    assert missing_platforms({"linux/arm/v7", "linux/arm64"}, index) == ["linux/arm/v7"]
    assert missing_platforms({"unknown/unknown"}, index) == ["unknown/unknown"]
    assert missing_platforms(None, index) == []
    assert missing_platforms({"linux/s390x"}, {}) == []  # a single manifest: cannot tell


def _item(ref: str, registry: str, state: ImageState | None, *, found: bool) -> RoundItem:
    at = datetime(2024, 5, 1, tzinfo=UTC)
    observation = (
        Observation(at, error="manifest unknown", error_status=404, not_found=True)
        if not found
        else Observation(at, error="503")
    )
    return RoundItem(ref, registry, state, observation)


def test_every_tracked_tag_of_a_registry_vanishing_is_that_registry_failing() -> None:
    gone = replace(SEEN, removed=True)
    items = [
        _item("a.example/x:1", "a.example", SEEN, found=False),
        _item("a.example/y:1", "a.example", SEEN, found=False),
        _item("a.example/new:1", "a.example", None, found=False),  # never seen: not counted
        _item("a.example/old:1", "a.example", gone, found=False),  # already gone: not counted
        _item("b.example/x:1", "b.example", SEEN, found=False),  # one tag: two checks decide
        _item("c.example/x:1", "c.example", SEEN, found=False),
        _item("c.example/y:1", "c.example", SEEN, found=True),  # not every tag of c vanished
    ]
    assert vanished_registries(items) == {"a.example": 2}
    failed = registry_failed(items[0], 2)
    assert not failed.not_found
    assert failed.checked_at == items[0].observation.checked_at
    assert failed.error is not None
    assert "every tracked tag of a.example (2)" in failed.error
