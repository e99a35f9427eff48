"""Change detection: decide(previous state, observation, policy) -> state, history, events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.core.changes import (
    CheckDecision,
    CheckState,
    EventKind,
    HistoryKind,
    ImageState,
    NewerVersions,
    Observation,
    WatchPolicy,
    changed_platforms,
    decide,
    event_id,
    superseded,
)
from watcher.core.observation import DOCKER_MANIFEST_V2, OCI_INDEX, ManifestObservation

REF = "docker.io/library/python:3.12"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
A, B, C = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64
AMD_1, AMD_2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
ARM_1, ARM_2 = "sha256:" + "3" * 64, "sha256:" + "4" * 64
S390_1, S390_2 = "sha256:" + "5" * 64, "sha256:" + "6" * 64

FAST = settings(max_examples=200, derandomize=True, database=None, deadline=None)


def at(step: int) -> datetime:
    return T0 + timedelta(minutes=15 * step)


def single(digest: str) -> ManifestObservation:
    return ManifestObservation(digest, DOCKER_MANIFEST_V2)


def index(digest: str, platforms: Mapping[str, str]) -> ManifestObservation:
    return ManifestObservation(digest, OCI_INDEX, dict(platforms))


def ok(
    step: int,
    manifest: ManifestObservation | str,
    newer: NewerVersions | None = None,
    fingerprint: str | None = None,
) -> Observation:
    if isinstance(manifest, str):
        manifest = single(manifest)
    return Observation(at(step), manifest=manifest, newer=newer, tags_fingerprint=fingerprint)


def failed(
    step: int, error: str = "503 Service Unavailable", status: int | None = 503
) -> Observation:
    return Observation(at(step), error=error, error_status=status)


def missing(step: int) -> Observation:
    return Observation(at(step), error="manifest unknown", error_status=404, not_found=True)


def run(
    observations: Iterable[Observation],
    policy: WatchPolicy | None = None,
    state: ImageState | None = None,
) -> list[CheckDecision]:
    """Feed observations one after another, each against the state the previous one left."""
    state = state or ImageState(REF)
    decisions = []
    for observation in observations:
        decision = decide(state, observation, policy or WatchPolicy())
        decisions.append(decision)
        state = decision.image
    return decisions


def kinds(decision: CheckDecision) -> list[str]:
    return [e.kind.value for e in decision.events]


def rows(decision: CheckDecision) -> list[str]:
    return [h.kind.value for h in decision.history]


def all_events(decisions: Iterable[CheckDecision]) -> list[tuple[str, dict[str, object]]]:
    return [(e.kind.value, dict(e.data)) for d in decisions for e in d.events]


def seen(digest: str = A, **changes: object) -> ImageState:
    """An image whose baseline is ``digest``."""
    return replace(decide(ImageState(REF), ok(0, digest)).image, **changes)  # type: ignore[arg-type]


# --- first sight -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notify", "events"),
    [(False, []), (True, ["first_seen"])],
)
def test_first_sight_records_a_baseline(notify: bool, events: list[str]) -> None:
    manifest = index(A, {"linux/amd64": AMD_1, "linux/arm64/v8": ARM_1})
    decision = decide(
        ImageState(REF),
        ok(0, manifest, NewerVersions("3.12.4", "3.13.1"), "fp1"),
        WatchPolicy(notify_on_first_check=notify),
    )
    assert decision.state is CheckState.BASELINE
    assert kinds(decision) == events
    assert rows(decision) == ["baseline"]
    assert decision.history[0].data == {
        "digest": A,
        "platforms": {"linux/amd64": AMD_1, "linux/arm64/v8": ARM_1},
    }
    image = decision.image
    assert image.seen
    assert (image.digest, image.media_type) == (A, OCI_INDEX)
    assert dict(image.platforms) == {"linux/amd64": AMD_1, "linux/arm64/v8": ARM_1}
    assert image.newer == NewerVersions("3.12.4", "3.13.1")
    # The baseline's answers are what the user already knows: recorded, never reported.
    assert (image.reported_same_line, image.reported_newest) == ("3.12.4", "3.13.1")
    assert image.tags_fingerprint == "fp1"
    assert image.last_checked_at == image.last_changed_at == at(0)
    assert image.changes == 1
    if notify:
        (event,) = decision.events
        assert event.ref == REF
        assert event.created_at == at(0)
        assert event.data["digest"] == A


def test_first_seen_event_id_is_stable() -> None:
    policy = WatchPolicy(notify_on_first_check=True)
    one = decide(ImageState(REF), ok(0, A), policy)
    two = decide(ImageState(REF), ok(0, A), policy)
    assert one == two
    assert one.events[0].id == two.events[0].id
    other = decide(ImageState(REF), ok(0, B), policy)
    assert other.events[0].id != one.events[0].id
    other_ref = decide(ImageState("docker.io/library/python:3.13"), ok(0, A), policy)
    assert other_ref.events[0].id != one.events[0].id


# --- unchanged -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("manifest", "newer"),
    [
        (single(A), None),
        (single(A), NewerVersions("3.12.4", "3.13.1")),
        (single(A), NewerVersions(None, None)),  # answers vanish: nothing to report
        (single(A), NewerVersions("3.12.4", None)),
        (index(A, {"linux/amd64": AMD_1}), None),
    ],
)
def test_unchanged_check_moves_only_last_checked_at(
    manifest: ManifestObservation, newer: NewerVersions | None
) -> None:
    previous = decide(ImageState(REF), ok(0, manifest, NewerVersions("3.12.4", "3.13.1"))).image
    decision = decide(previous, ok(1, manifest, newer))
    assert decision.state is CheckState.UNCHANGED
    assert decision.history == ()
    assert decision.events == ()
    expected_newer = newer if newer is not None else previous.newer
    assert decision.image == replace(previous, last_checked_at=at(1), newer=expected_newer)


def test_many_unchanged_checks_keep_the_change_counter() -> None:
    decisions = run([ok(i, A) for i in range(10)])
    assert [d.state for d in decisions] == [CheckState.BASELINE] + [CheckState.UNCHANGED] * 9
    assert {d.image.changes for d in decisions} == {1}
    assert decisions[-1].image.last_changed_at == at(0)
    assert decisions[-1].image.last_checked_at == at(9)


# --- digest changes --------------------------------------------------------------------------


def test_digest_changed_single_manifest() -> None:
    decision = decide(seen(A), ok(1, B))
    assert decision.state is CheckState.CHANGED
    assert kinds(decision) == ["digest_changed"]
    assert rows(decision) == ["digest_changed"]
    (event,) = decision.events
    assert event.data == {"old_digest": A, "new_digest": B, "changed_platforms": {}}
    assert event.ref == REF
    assert event.created_at == at(1)
    assert decision.history[0].data == event.data
    assert decision.image.digest == B
    assert decision.image.last_changed_at == at(1)
    assert decision.image.changes == 2


OLD_INDEX = {"linux/amd64": AMD_1, "linux/arm64/v8": ARM_1, "linux/s390x": S390_1}


@pytest.mark.parametrize(
    ("new_platforms", "watched", "expected"),
    [
        # All platforms watched: every difference is named.
        ({**OLD_INDEX, "linux/amd64": AMD_2}, None, {"linux/amd64": "changed"}),
        (
            {**OLD_INDEX, "linux/amd64": AMD_2, "linux/arm64/v8": ARM_2},
            None,
            {"linux/amd64": "changed", "linux/arm64/v8": "changed"},
        ),
        ({**OLD_INDEX, "linux/riscv64": AMD_2}, None, {"linux/riscv64": "added"}),
        (
            {"linux/amd64": AMD_1, "linux/arm64/v8": ARM_1},
            None,
            {"linux/s390x": "removed"},
        ),
        # Watched platforms: only they are named.
        (
            {**OLD_INDEX, "linux/amd64": AMD_2, "linux/s390x": S390_2},
            frozenset({"linux/amd64"}),
            {"linux/amd64": "changed"},
        ),
        (
            {"linux/amd64": AMD_1, "linux/s390x": S390_1},
            frozenset({"linux/amd64", "linux/arm64/v8"}),
            {"linux/arm64/v8": "removed"},
        ),
        (
            {**OLD_INDEX, "linux/arm/v7": ARM_2},
            frozenset({"linux/arm/v7"}),
            {"linux/arm/v7": "added"},
        ),
    ],
)
def test_digest_changed_names_platforms(
    new_platforms: dict[str, str], watched: frozenset[str] | None, expected: dict[str, str]
) -> None:
    policy = WatchPolicy(platforms=watched)
    previous = decide(ImageState(REF), ok(0, index(A, OLD_INDEX)), policy).image
    decision = decide(previous, ok(1, index(B, new_platforms)), policy)
    assert decision.state is CheckState.CHANGED
    (event,) = decision.events
    assert event.kind is EventKind.DIGEST_CHANGED
    assert event.data == {"old_digest": A, "new_digest": B, "changed_platforms": expected}
    assert decision.image.digest == B
    assert dict(decision.image.platforms) == new_platforms


@pytest.mark.parametrize(
    "new_platforms",
    [
        {**OLD_INDEX, "linux/s390x": S390_2},
        {"linux/amd64": AMD_1, "linux/arm64/v8": ARM_1},
        {**OLD_INDEX, "linux/riscv64": S390_2},
        OLD_INDEX,
    ],
)
def test_unwatched_platform_change_is_not_an_event_but_is_remembered(
    new_platforms: dict[str, str],
) -> None:
    policy = WatchPolicy(platforms=frozenset({"linux/amd64", "linux/arm64/v8"}))
    previous = decide(ImageState(REF), ok(0, index(A, OLD_INDEX)), policy).image
    decision = decide(previous, ok(1, index(B, new_platforms)), policy)
    assert decision.events == ()
    assert decision.state is CheckState.UNCHANGED
    assert decision.image.digest == B
    assert dict(decision.image.platforms) == new_platforms
    assert decision.image.last_changed_at == previous.last_changed_at

    # The next check compares against the new digests: a watched change is reported against B.
    moved = {**new_platforms, "linux/amd64": AMD_2}
    after = decide(decision.image, ok(2, index(C, moved)), policy)
    (event,) = after.events
    assert event.data == {
        "old_digest": B,
        "new_digest": C,
        "changed_platforms": {"linux/amd64": "changed"},
    }
    # And seeing B again is nothing at all.
    again = decide(decision.image, ok(2, index(B, new_platforms)), policy)
    assert (again.state, again.events, again.history) == (CheckState.UNCHANGED, (), ())


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (single(A), index(B, {"linux/amd64": AMD_1})),  # became multi-platform
        (index(A, {"linux/amd64": AMD_1}), single(B)),  # became single-platform
        (single(A), single(B)),  # single-platform images have no platforms to filter
    ],
)
def test_watched_platforms_do_not_hide_a_manifest_kind_change(
    old: ManifestObservation, new: ManifestObservation
) -> None:
    policy = WatchPolicy(platforms=frozenset({"linux/arm64/v8"}))
    previous = decide(ImageState(REF), ok(0, old), policy).image
    decision = decide(previous, ok(1, new), policy)
    assert kinds(decision) == ["digest_changed"]
    assert decision.image.media_type == new.media_type


def test_changed_platforms_table() -> None:
    old = {"a/x": "1", "b/x": "2", "c/x": "3"}
    new = {"a/x": "1", "b/x": "9", "d/x": "4"}
    assert changed_platforms(old, new) == {"b/x": "changed", "c/x": "removed", "d/x": "added"}
    assert changed_platforms(old, new, frozenset({"a/x", "d/x"})) == {"d/x": "added"}
    assert changed_platforms(old, new, frozenset()) == {}
    assert changed_platforms({}, {}) == {}
    assert changed_platforms(old, old) == {}
    assert list(changed_platforms(new, old)) == sorted(changed_platforms(new, old))


# --- event ids -----------------------------------------------------------------------------


def test_flip_flop_gives_distinct_ids() -> None:
    decisions = run([ok(0, A), ok(1, B), ok(2, A), ok(3, B), ok(4, A)])
    events = [e for d in decisions for e in d.events]
    assert [(e.data["old_digest"], e.data["new_digest"]) for e in events] == [
        (A, B),
        (B, A),
        (A, B),
        (B, A),
    ]
    assert len({e.id for e in events}) == 4


def test_same_inputs_same_decision_and_ids() -> None:
    state = seen(A)
    observation = ok(1, B, NewerVersions("3.12.9", "3.14.0"))
    one, two = decide(state, observation), decide(state, observation)
    assert one == two
    assert [e.id for e in one.events] == [e.id for e in two.events]
    assert len({e.id for e in one.events}) == len(one.events) == 2


def test_different_changes_from_the_same_state_have_different_ids() -> None:
    state = seen(A)
    ids = {
        decide(state, ok(1, B)).events[0].id,
        decide(state, ok(1, C)).events[0].id,
        decide(state, ok(1, A, NewerVersions("3.12.9", None))).events[0].id,
        decide(state, ok(1, A, NewerVersions("3.12.8", None))).events[0].id,
        decide(decide(state, missing(1)).image, missing(2)).events[0].id,
        decide(replace(state, ref="docker.io/library/python:3.13"), ok(1, B)).events[0].id,
    }
    assert len(ids) == 6


def test_event_id_inputs() -> None:
    base = event_id(REF, EventKind.DIGEST_CHANGED, 3, "x")
    assert base == event_id(REF, EventKind.DIGEST_CHANGED, 3, "x")
    assert len(base) == 32
    assert int(base, 16) >= 0
    variants = {
        event_id("other", EventKind.DIGEST_CHANGED, 3, "x"),
        event_id(REF, EventKind.NEW_VERSION, 3, "x"),
        event_id(REF, EventKind.DIGEST_CHANGED, 4, "x"),
        event_id(REF, EventKind.DIGEST_CHANGED, 3, "y"),
        # The separator keeps field boundaries: ("a", 1, "2x") is not ("a", 12, "x").
        event_id(REF, EventKind.DIGEST_CHANGED, 31, ""),
    }
    assert base not in variants
    assert len(variants) == 5


# --- newer versions ----------------------------------------------------------------------------


def newer_run(answers: list[NewerVersions | None]) -> list[CheckDecision]:
    return run(ok(i, A, answer) for i, answer in enumerate(answers))


@pytest.mark.parametrize(
    ("answers", "reported"),
    [
        # A newer patch on the same line, then a newer line.
        (
            [NewerVersions("3.12.1", "3.13.0"), NewerVersions("3.12.2", "3.13.0")],
            [["3.12.2"]],
        ),
        (
            [NewerVersions("3.12.1", "3.13.0"), NewerVersions("3.12.1", "3.14.0")],
            [["3.14.0"]],
        ),
        (
            [NewerVersions("3.12.1", "3.13.0"), NewerVersions("3.12.2", "3.14.0")],
            [["3.12.2", "3.14.0"]],
        ),
        # The same tag as both answers is reported once.
        ([NewerVersions(None, None), NewerVersions("3.12.1", "3.12.1")], [["3.12.1"]]),
        # Nothing newer at the baseline, something later.
        ([NewerVersions(None, None), NewerVersions(None, "3.13.0")], [["3.13.0"]]),
        # Each newer tag once; the same answer again is not re-reported.
        (
            [
                NewerVersions("3.12.1", None),
                NewerVersions("3.12.2", None),
                NewerVersions("3.12.2", None),
                NewerVersions("3.12.3", None),
                NewerVersions("3.12.3", None),
            ],
            [["3.12.2"], ["3.12.3"]],
        ),
        # Listing skipped or failed (None): the previous answer stands, nothing reported.
        (
            [NewerVersions("3.12.1", "3.13.0"), None, None, NewerVersions("3.12.1", "3.13.0")],
            [],
        ),
        # An answer that vanishes and comes back is not new.
        (
            [NewerVersions("3.12.1", "3.13.0"), NewerVersions(None, None),
             NewerVersions("3.12.1", "3.13.0")],
            [],
        ),
        # A tag already reported as one answer is not reported again as the other.
        (
            [NewerVersions(None, "3.13.0"), NewerVersions("3.13.0", "3.13.0")],
            [],
        ),
        (
            [NewerVersions(None, None), NewerVersions("3.12.5", "3.12.5"),
             NewerVersions("3.12.5", "3.13.0")],
            [["3.12.5"], ["3.13.0"]],
        ),
    ],
)  # fmt: skip
def test_new_versions(answers: list[NewerVersions | None], reported: list[list[str]]) -> None:
    decisions = newer_run(answers)
    assert decisions[0].events == ()
    events = [e for d in decisions for e in d.events]
    assert all(e.kind is EventKind.NEW_VERSION for e in events)
    assert [e.data["new"] for e in events] == reported
    for decision in decisions[1:]:
        if decision.events:
            assert decision.state is CheckState.CHANGED
            assert rows(decision) == ["new_version"]
            assert decision.image.last_changed_at == decision.events[0].created_at
        else:
            assert decision.state is CheckState.UNCHANGED
            assert decision.history == ()
    assert len({e.id for e in events}) == len(events)


def test_new_version_event_data() -> None:
    (_, decision) = newer_run(
        [NewerVersions("3.12.1", "3.13.0"), NewerVersions("3.12.2", "3.14.0")]
    )
    (event,) = decision.events
    assert event.data == {"same_line": "3.12.2", "newest": "3.14.0", "new": ["3.12.2", "3.14.0"]}
    assert decision.image.newer == NewerVersions("3.12.2", "3.14.0")
    assert (decision.image.reported_same_line, decision.image.reported_newest) == (
        "3.12.2",
        "3.14.0",
    )


def test_digest_change_and_new_version_in_one_check() -> None:
    state = decide(ImageState(REF), ok(0, A, NewerVersions("3.12.1", "3.13.0"))).image
    decision = decide(state, ok(1, B, NewerVersions("3.12.2", "3.13.0")))
    assert kinds(decision) == ["digest_changed", "new_version"]
    assert rows(decision) == ["digest_changed", "new_version"]
    assert decision.image.changes == state.changes + 2
    assert len({e.id for e in decision.events}) == 2


def test_first_answers_after_a_baseline_without_tag_listing_are_not_reported() -> None:
    # The baseline could not list tags (for example rate-limited): its answers come later,
    # and what already existed then is not news.
    decisions = run(
        [
            ok(0, A, None, None),
            ok(1, A, NewerVersions("3.12.1", "3.13.0"), "fp1"),
            ok(2, A, NewerVersions("3.12.2", "3.13.0"), "fp2"),
        ]
    )
    assert all_events(decisions[:2]) == []
    assert decisions[1].history == ()
    assert decisions[1].image.reported_same_line == "3.12.1"
    assert [e.data["new"] for e in decisions[2].events] == [["3.12.2"]]


def test_new_versions_without_fingerprints_are_still_reported() -> None:
    # Callers that do not fingerprint tag lists still get new_version events.
    decisions = newer_run([None, NewerVersions("3.12.1", None)])
    assert [e.data["new"] for e in decisions[1].events] == [["3.12.1"]]


def test_retracted_tag_does_not_re_report_older_answers() -> None:
    decisions = newer_run(
        [
            NewerVersions("3.12.1", None),
            NewerVersions("3.12.2", None),
            NewerVersions("3.12.3", None),
            NewerVersions("3.12.2", None),  # 3.12.3 was deleted from the registry
            NewerVersions("3.12.1", None),  # and 3.12.2 too
        ]
    )
    assert [e.data["new"] for d in decisions for e in d.events] == [["3.12.2"], ["3.12.3"]]


# --- failures ------------------------------------------------------------------------------


def test_failures_keep_the_last_good_state_and_are_counted() -> None:
    good = decide(
        ImageState(REF),
        ok(0, index(A, {"linux/amd64": AMD_1}), NewerVersions("3.12.1", "3.13.0"), "fp"),
    ).image
    decisions = run(
        [failed(1, "boom", 500), failed(2, "timeout", None), failed(3, "503", 503)], state=good
    )
    first, second, third = decisions
    assert [d.state for d in decisions] == [CheckState.ERROR] * 3
    assert all(d.events == () for d in decisions)
    assert rows(first) == ["failing"]
    assert first.history[0].data == {"error": "boom", "status": 500}
    assert first.history[0].at == at(1)
    assert second.history == third.history == ()

    image = third.image
    assert (image.digest, image.media_type, dict(image.platforms)) == (
        A,
        OCI_INDEX,
        {"linux/amd64": AMD_1},
    )
    assert image.newer == NewerVersions("3.12.1", "3.13.0")
    assert (image.reported_same_line, image.reported_newest) == ("3.12.1", "3.13.0")
    assert image.tags_fingerprint == "fp"
    assert image.last_changed_at == at(0)
    assert image.last_checked_at == at(3)
    assert (image.failure_count, image.failing_since) == (3, at(1))
    assert (image.last_error, image.last_error_status) == ("503", 503)
    assert image.failing
    assert [d.image.failure_count for d in decisions] == [1, 2, 3]


def test_recovery_adds_one_recovered_row_and_resets_the_streak() -> None:
    decisions = run([ok(0, A), failed(1), failed(2), ok(3, A), failed(4), ok(5, A)])
    assert [rows(d) for d in decisions] == [
        ["baseline"],
        ["failing"],
        [],
        ["recovered"],
        ["failing"],
        ["recovered"],
    ]
    assert all_events(decisions) == []
    recovered = decisions[3]
    assert recovered.state is CheckState.UNCHANGED
    assert recovered.history[0].data == {"failures": 2, "since": at(1).isoformat()}
    image = recovered.image
    assert (image.failure_count, image.failing_since, image.last_error) == (0, None, None)
    assert image.last_error_status is None
    assert not image.failing
    assert decisions[5].history[0].data == {"failures": 1, "since": at(4).isoformat()}


def test_recovery_with_a_new_digest_reports_it() -> None:
    decisions = run([ok(0, A), failed(1), ok(2, B)])
    assert rows(decisions[2]) == ["recovered", "digest_changed"]
    assert kinds(decisions[2]) == ["digest_changed"]
    assert decisions[2].events[0].data["old_digest"] == A


def test_failures_before_any_success() -> None:
    decisions = run([failed(0, "refused", None), failed(1), missing(2), ok(3, A)])
    assert [d.state for d in decisions[:3]] == [CheckState.ERROR] * 3
    assert [rows(d) for d in decisions] == [["failing"], [], [], ["recovered", "baseline"]]
    assert all_events(decisions) == []
    assert decisions[2].image.digest is None
    assert not decisions[2].image.seen
    assert decisions[2].image.failure_count == 3
    assert decisions[3].state is CheckState.BASELINE
    assert decisions[3].image.digest == A


def test_failure_without_a_message() -> None:
    decision = decide(seen(A), Observation(at(1)))
    assert decision.image.last_error == "check failed"
    assert decision.image.digest == A


def test_failure_ignores_answers_it_carries() -> None:
    state = decide(ImageState(REF), ok(0, A, NewerVersions("3.12.1", None))).image
    decision = decide(state, Observation(at(1), newer=NewerVersions("9.9.9", None), error="x"))
    assert decision.events == ()
    assert decision.image.newer == NewerVersions("3.12.1", None)


# --- tag removed -----------------------------------------------------------------------------


def test_tag_removed_once_while_missing_then_restored() -> None:
    decisions = run(
        [ok(0, A), missing(1), missing(2), missing(3), failed(4), missing(5), ok(6, A)]
    )
    assert [kinds(d) for d in decisions] == [[], [], ["tag_removed"], [], [], [], []]
    assert [rows(d) for d in decisions] == [
        ["baseline"],
        ["failing"],
        ["tag_removed"],
        [],
        [],
        [],
        ["recovered", "tag_restored"],
    ]
    first = decisions[1]
    assert first.state is CheckState.ERROR
    assert not first.image.removed
    assert first.image.last_error_status == 404
    removed = decisions[2]
    assert removed.state is CheckState.CHANGED
    (event,) = removed.events
    assert event.data == {"tag_digest": A}
    assert event.created_at == at(2)
    image = removed.image
    assert image.removed
    assert image.digest == A  # the last good digest survives
    assert (image.last_error, image.last_error_status) == ("manifest unknown", 404)
    assert image.last_changed_at == at(2)
    assert image.failing_since == at(1)
    assert [d.image.failure_count for d in decisions[1:6]] == [1, 2, 3, 4, 5]
    assert [d.state for d in decisions[3:6]] == [CheckState.ERROR] * 3
    assert decisions[5].image.changes == decisions[3].image.changes == image.changes

    restored = decisions[6]
    assert restored.history[1].data == {"digest": A}
    assert not restored.image.removed
    assert restored.image.failure_count == 0


def test_one_not_found_between_good_checks_is_no_removal() -> None:
    # A registry that briefly serves empty storage: one 404, then the tag is back.
    decisions = run([ok(0, A), missing(1), ok(2, A), missing(3), failed(4), missing(5)])
    assert [e for d in decisions for e in d.events] == []
    assert [rows(d) for d in decisions] == [
        ["baseline"],
        ["failing"],
        ["recovered"],
        ["failing"],
        [],
        [],
    ]
    assert not any(d.image.removed for d in decisions)


def test_tag_removed_again_after_restore_is_a_new_event() -> None:
    decisions = run([ok(0, A), missing(1), missing(2), ok(3, A), missing(4), missing(5)])
    removed = [e for d in decisions for e in d.events]
    assert [e.kind for e in removed] == [EventKind.TAG_REMOVED] * 2
    assert removed[0].id != removed[1].id


def test_tag_restored_with_another_digest() -> None:
    decisions = run([ok(0, A), missing(1), missing(2), ok(3, B)])
    assert rows(decisions[3]) == ["recovered", "tag_restored", "digest_changed"]
    assert kinds(decisions[3]) == ["digest_changed"]


def test_tag_removed_during_a_failing_streak_keeps_the_streak_start() -> None:
    decisions = run([ok(0, A), failed(1), missing(2), missing(3)])
    assert kinds(decisions[2]) == []
    assert kinds(decisions[3]) == ["tag_removed"]
    assert decisions[3].image.failing_since == at(1)
    assert decisions[3].image.failure_count == 3


def test_not_found_without_details() -> None:
    gone = Observation(at(1), not_found=True)
    decisions = run([ok(0, A), gone, replace(gone, checked_at=at(2))])
    assert kinds(decisions[2]) == ["tag_removed"]
    image = decisions[2].image
    assert (image.last_error, image.last_error_status) == ("tag not found", 404)


# --- properties ----------------------------------------------------------------------------

_digests = st.sampled_from([A, B, C])
_platforms = st.dictionaries(
    st.sampled_from(["linux/amd64", "linux/arm64/v8", "linux/s390x"]),
    st.sampled_from([AMD_1, AMD_2, ARM_1]),
)
_manifests = st.one_of(
    _digests.map(single),
    st.builds(index, _digests, _platforms),
)
_answers = st.none() | st.builds(
    NewerVersions,
    st.none() | st.sampled_from(["3.12.1", "3.12.2", "3.12.3"]),
    st.none() | st.sampled_from(["3.13.0", "3.14.0"]),
)
_step = st.one_of(
    st.tuples(st.just("ok"), _manifests, _answers),
    st.tuples(st.just("failed"), st.none(), st.none()),
    st.tuples(st.just("missing"), st.none(), st.none()),
)
_policies = st.builds(
    WatchPolicy,
    st.none() | st.just(frozenset({"linux/amd64"})),
    st.booleans(),
)


def _observations(
    steps: list[tuple[str, ManifestObservation | None, NewerVersions | None]],
) -> list[Observation]:
    result = []
    for i, (kind, manifest, answer) in enumerate(steps):
        if kind == "ok":
            assert manifest is not None
            result.append(ok(i, manifest, answer))
        elif kind == "failed":
            result.append(failed(i))
        else:
            result.append(missing(i))
    return result


@FAST
@given(st.lists(_step, max_size=12), _policies)
def test_invariants_over_any_sequence(
    steps: list[tuple[str, ManifestObservation | None, NewerVersions | None]],
    policy: WatchPolicy,
) -> None:
    state = ImageState(REF)
    ids: set[str] = set()
    streaks_started = streaks_ended = failing_rows = recovered_rows = 0
    for observation in _observations(steps):
        decision = decide(state, observation, policy)
        # Deterministic: the same inputs give the same decision, ids included.
        assert decide(state, observation, policy) == decision
        image = decision.image
        assert image.last_checked_at == observation.checked_at
        assert image.ref == state.ref
        # Event ids never repeat across the whole life of an image.
        for event in decision.events:
            assert event.id not in ids
            ids.add(event.id)
        # Only changing checks add rows; the counter moves by the rows added.
        assert image.changes == state.changes + len(decision.history)
        if decision.state is CheckState.UNCHANGED:
            assert decision.events == ()
        if observation.manifest is None:
            # A failed check never erases the last good state and never reports a change.
            assert all(e.kind is EventKind.TAG_REMOVED for e in decision.events)
            assert (image.digest, image.platforms, image.newer) == (
                state.digest,
                state.platforms,
                state.newer,
            )
            assert (image.reported_same_line, image.reported_newest) == (
                state.reported_same_line,
                state.reported_newest,
            )
            assert image.failure_count == state.failure_count + 1
            assert image.failing_since == (state.failing_since or observation.checked_at)
            if not state.failing:
                streaks_started += 1
            if decision.events:
                assert state.seen
                assert not state.removed
        else:
            assert image.digest == observation.manifest.digest
            assert image.failure_count == 0
            assert not image.removed
            if state.failing:
                streaks_ended += 1
        failing_rows += sum(h.kind is HistoryKind.FAILING for h in decision.history)
        recovered_rows += sum(h.kind is HistoryKind.RECOVERED for h in decision.history)
        state = image
    # One failing row per streak that did not start with a tag removal; one recovered per end.
    assert failing_rows <= streaks_started
    assert recovered_rows == streaks_ended


@FAST
@given(st.lists(_step, min_size=1, max_size=12))
def test_a_missing_tag_is_reported_once_per_disappearance(
    steps: list[tuple[str, ManifestObservation | None, NewerVersions | None]],
) -> None:
    decisions = run(_observations(steps))
    seen_yet = gone = suspect = False
    for (kind, _, _), decision in zip(steps, decisions, strict=True):
        removed = [e for e in decision.events if e.kind is EventKind.TAG_REMOVED]
        if kind == "missing":
            # Reported on the second "not found" in a row, once per disappearance.
            reported = seen_yet and not gone and suspect
            assert len(removed) == (1 if reported else 0)
            suspect = seen_yet and not gone and not reported
            gone = gone or reported
        else:
            assert removed == []
            suspect = False
        if kind == "ok":
            seen_yet, gone = True, False


@FAST
@given(st.lists(st.integers(0, 30), min_size=1, max_size=15))
def test_newer_tags_moving_forward_are_each_reported_once(answers: list[int]) -> None:
    # The orderer's answers only move forward (or vanish): every new tag is reported once.
    running = 0
    sequence = []
    for value in answers:
        running = max(running, value)
        sequence.append(NewerVersions(f"1.0.{running}", None) if value else NewerVersions())
    decisions = newer_run(sequence)
    reported = [tag for d in decisions for e in d.events for tag in e.data["new"]]
    assert len(reported) == len(set(reported))
    baseline = decisions[0].image.reported_same_line
    assert baseline not in reported


# --- platform spelling -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "reported"),
    [
        ("linux/arm64", "linux/arm64/v8"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/amd64", "linux/amd64/v1"),
        ("linux/amd64", "linux/x86_64"),
        ("Linux/ARM64", "linux/arm64/v8"),
    ],
)
def test_watched_platform_matches_any_spelling_of_it(configured: str, reported: str) -> None:
    policy = WatchPolicy(platforms=frozenset({configured}))
    old = {reported: ARM_1, "linux/s390x": S390_1}
    previous = decide(ImageState(REF), ok(0, index(A, old)), policy).image
    assert previous.missing_platforms == ()
    decision = decide(previous, ok(1, index(B, {**old, reported: ARM_2})), policy)
    assert decision.state is CheckState.CHANGED
    (event,) = decision.events
    # Named as the registry spells it.
    assert event.data["changed_platforms"] == {reported: "changed"}


def test_platform_spellings_of_the_registry_are_compared_normalised() -> None:
    # The index re-spelled a platform (arm64/v8 -> arm64): not a change of that platform.
    assert changed_platforms({"linux/arm64/v8": ARM_1}, {"linux/arm64": ARM_1}) == {}
    assert changed_platforms({"linux/arm64/v8": ARM_1}, {"linux/arm64": ARM_2}) == {
        "linux/arm64": "changed"
    }
    assert changed_platforms({"unknown/unknown": ARM_1}, {"unknown/unknown": ARM_2}) == {}


def test_configured_platform_not_in_the_image_is_recorded() -> None:
    policy = WatchPolicy(platforms=frozenset({"linux/arm64", "linux/s390x", "linux/riscv64"}))
    decision = decide(
        ImageState(REF),
        ok(0, index(A, {"linux/arm64/v8": ARM_1, "linux/s390x": S390_1})),
        policy,
    )
    assert decision.image.missing_platforms == ("linux/riscv64",)
    # A single-platform manifest says nothing about its platform: nothing is missing.
    single_platform = decide(ImageState(REF), ok(0, A), policy)
    assert single_platform.image.missing_platforms == ()


# --- index-only changes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "new_platforms",
    [
        OLD_INDEX,  # annotations reordered, re-serialised, re-pushed with identical children
        {**OLD_INDEX, "unknown/unknown": AMD_2},  # attestations added or rebuilt
        {"linux/arm64": ARM_1, "linux/amd64": AMD_1, "linux/s390x": S390_1},  # re-spelled
    ],
)
@pytest.mark.parametrize("watched", [None, frozenset({"linux/amd64"})])
def test_index_changed_without_a_platform_image_is_no_rebuild(
    new_platforms: dict[str, str], watched: frozenset[str] | None
) -> None:
    policy = WatchPolicy(platforms=watched)
    previous = decide(ImageState(REF), ok(0, index(A, OLD_INDEX)), policy).image
    decision = decide(previous, ok(1, index(B, new_platforms)), policy)
    assert decision.state is CheckState.UNCHANGED
    assert decision.events == ()
    assert rows(decision) == ["index_changed"]
    assert decision.history[0].data == {"old_digest": A, "new_digest": B}
    assert decision.image.digest == B
    assert decision.image.last_changed_at == previous.last_changed_at
    # The next real change is reported against the new index digest.
    after = decide(decision.image, ok(2, index(C, {**OLD_INDEX, "linux/amd64": AMD_2})), policy)
    (event,) = after.events
    assert (event.data["old_digest"], event.data["changed_platforms"]) == (
        B,
        {"linux/amd64": "changed"},
    )


# --- tag listing errors ----------------------------------------------------------------------


def test_tag_listing_error_is_recorded_until_a_listing_succeeds() -> None:
    failing = replace(ok(1, A), tags_error="tag list: more than max_tags=10 tags")
    decisions = run([ok(0, A), failing, failed(2), ok(3, A, NewerVersions("3.12.9", None), "f")])
    assert [d.image.tags_error for d in decisions] == [
        None,
        "tag list: more than max_tags=10 tags",
        "tag list: more than max_tags=10 tags",  # a failed check keeps what it knew
        None,
    ]
    assert decisions[1].state is CheckState.UNCHANGED


def test_an_observation_older_than_the_stored_check_is_superseded() -> None:
    state = seen(A, last_checked_at=at(2))
    assert superseded(state, ok(1, B))
    assert not superseded(state, ok(2, B))
    assert not superseded(state, ok(3, B))
    assert not superseded(ImageState(REF), ok(0, A))
