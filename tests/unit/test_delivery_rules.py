"""The pure delivery rules: routing, soak precedence, backoff, soak supersede."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.core.delivery import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    Route,
    Soaking,
    backoff,
    effective_soak,
    routes_for,
    supersede_digest,
    supersede_versions,
)
from watcher.core.events import DigestChanged, Event, EventKind, NewVersion, TagRemoved

T0 = datetime(2026, 1, 1, tzinfo=UTC)
REF = "docker.io/library/python:3.12"


def d(char: str) -> str:
    return "sha256:" + char * 64


def moved(n: int, old: str | None, new: str, platforms: dict[str, str] | None = None) -> Event:
    return Event(f"e{n}", REF, T0 + timedelta(minutes=n),
                 DigestChanged(old, new, platforms or {}))


def versions(n: int, newest: str, new: tuple[str, ...]) -> Event:
    return Event(f"v{n}", REF, T0 + timedelta(minutes=n), NewVersion(None, newest, new))


def test_routes_match_kinds_and_image_globs_in_both_spellings() -> None:
    event = moved(1, d("a"), d("b"))
    everything = Route("all")
    kinds = Route("kinds", kinds=frozenset({EventKind.NEW_VERSION}))
    short = Route("short", images=("python:*",))
    canonical = Route("canonical", images=("docker.io/library/*",))
    other = Route("other", images=("ghcr.io/*",))
    chosen = routes_for(event, [everything, kinds, short, canonical, other])
    assert [r.channel for r in chosen] == ["all", "short", "canonical"]


def test_soak_comes_from_the_channel_then_the_image_then_the_global_setting() -> None:
    assert effective_soak(Route("a", soak=5.0), 60.0, 3600.0) == 5.0
    assert effective_soak(Route("a", soak=0.0), 60.0, 3600.0) == 0.0
    assert effective_soak(Route("a"), 60.0, 3600.0) == 60.0
    assert effective_soak(Route("a"), None, 3600.0) == 3600.0


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_within_the_exponential_ceiling(attempts: int, seed: int) -> None:
    delay = backoff(attempts, random.Random(seed))
    assert 0.0 <= delay <= min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempts - 1, 32))


def test_backoff_grows_on_average_and_is_capped_at_an_hour() -> None:
    rng = random.Random(7)
    first = [backoff(1, rng) for _ in range(200)]
    late = [backoff(20, rng) for _ in range(200)]
    assert max(first) <= BACKOFF_BASE
    assert max(late) <= BACKOFF_CAP
    assert sum(late) / len(late) > 10 * sum(first) / len(first)


def test_a_larger_retry_after_wins() -> None:
    assert backoff(1, random.Random(1), retry_after=7200.0) == 7200.0
    assert backoff(1, random.Random(1), retry_after=0.0) == backoff(1, random.Random(1))


def test_nothing_soaking_delivers_the_event_as_it_is() -> None:
    new = moved(1, d("a"), d("b"))
    assert supersede_digest([], new).deliver == new
    assert supersede_digest([], new).superseded == ()


def test_moved_twice_within_the_window_is_one_net_change() -> None:
    first = moved(1, d("a"), d("b"), {"linux/amd64": "changed"})
    second = moved(2, d("b"), d("c"), {"linux/arm64": "added"})
    decision = supersede_digest([Soaking(10, first)], second)
    assert decision.superseded == (10,)
    assert decision.deliver is not None
    assert decision.deliver.id == "e2"
    assert decision.deliver.payload == DigestChanged(
        d("a"), d("c"), {"linux/amd64": "changed", "linux/arm64": "added"}
    )
    assert decision.note is not None
    assert "e2" in decision.note


def test_moved_and_moved_back_delivers_nothing_and_says_why() -> None:
    first = moved(1, d("a"), d("b"))
    second = moved(2, d("b"), d("c"))
    back = moved(3, d("c"), d("a"))
    decision = supersede_digest([Soaking(11, second), Soaking(10, first)], back)
    assert decision.superseded == (10, 11)
    assert decision.deliver is None
    assert decision.note is not None
    assert "moved back" in decision.note


def test_a_platform_added_then_removed_is_no_net_platform_change() -> None:
    first = moved(1, d("a"), d("b"), {"linux/s390x": "added"})
    second = moved(2, d("b"), d("c"), {"linux/s390x": "removed"})
    decision = supersede_digest([Soaking(1, first)], second)
    assert decision.deliver is not None
    assert isinstance(decision.deliver.payload, DigestChanged)
    assert dict(decision.deliver.payload.changed_platforms) == {}


@given(st.lists(st.sampled_from("abcd"), min_size=2, max_size=8))
def test_a_chain_of_moves_nets_to_first_old_and_last_new(chain: list[str]) -> None:
    soaking: list[Soaking] = []
    outcome = None
    for n, (old, new) in enumerate(itertools.pairwise(chain)):
        if old == new:
            continue
        event = moved(n, d(old), d(new))
        outcome = supersede_digest(soaking, event)
        soaking = [s for s in soaking if s.delivery_id not in outcome.superseded]
        if outcome.deliver is not None:
            soaking.append(Soaking(100 + n, outcome.deliver))
    if outcome is None:
        return
    start, end = chain[0], chain[-1]
    if soaking:
        (left,) = soaking
        assert isinstance(left.event.payload, DigestChanged)
        assert left.event.payload.new_digest == d(end)
        assert left.event.payload.old_digest != d(end)
    else:
        assert outcome.deliver is None
    if start != end and soaking:
        assert isinstance(soaking[0].event.payload, DigestChanged)
        assert soaking[0].event.payload.old_digest is not None


def test_a_newer_version_that_disappears_again_is_superseded() -> None:
    soaking = [Soaking(5, versions(1, "3.14", ("3.14",)))]
    decision = supersede_versions(soaking, None, ["3.12.5", "3.13"])
    assert decision.superseded == (5,)
    assert decision.deliver is None
    assert decision.note is not None
    assert "3.14" in decision.note


def test_a_newer_version_still_on_offer_keeps_soaking() -> None:
    soaking = [Soaking(5, versions(1, "3.14", ("3.14",)))]
    assert supersede_versions(soaking, None, [None, "3.14"]).superseded == ()


def test_a_second_newer_version_supersedes_the_first_and_keeps_what_is_on_offer() -> None:
    soaking = [Soaking(5, versions(1, "3.14", ("3.14",)))]
    new = versions(2, "3.15", ("3.15",))
    decision = supersede_versions(soaking, new, ["3.14.1", "3.15"])
    assert decision.superseded == (5,)
    assert decision.deliver is not None
    assert decision.deliver.payload == NewVersion(None, "3.15", ("3.15",))
    kept = supersede_versions(soaking, new, ["3.14", "3.15"]).deliver
    assert kept is not None
    assert kept.payload == NewVersion(None, "3.15", ("3.14", "3.15"))


def test_supersede_refuses_events_of_another_kind() -> None:
    removed = Event("r", REF, T0, TagRemoved(d("a")))
    with pytest.raises(ValueError, match="tag_removed"):
        supersede_digest([], removed)
    with pytest.raises(ValueError, match="tag_removed"):
        supersede_versions([], removed, [])


def explained(n: int, classes: list[str] | None) -> Event:
    explanation = None if classes is None else {"change": classes[0], "classes": classes}
    return Event(f"x{n}", REF, T0, DigestChanged(d("a"), d("b"), {}, explanation))


@pytest.mark.parametrize(
    ("classes", "subscribed", "delivered"),
    [
        (["patch"], {"patch"}, True),
        (["patch"], {"major", "minor"}, False),
        (["patch", "rebase"], {"rebase"}, True),
        (["rebuild"], {"patch", "minor", "major"}, False),
        (["pre-release"], {"pre-release"}, True),
        (None, {"major"}, True),  # unexplained: no class to judge by, never dropped
    ],
)
def test_a_route_with_classes_takes_only_the_digest_changes_of_those_classes(
    classes: list[str] | None, subscribed: set[str], delivered: bool
) -> None:
    route = Route("hook", classes=frozenset(subscribed))
    assert route.matches(explained(1, classes)) is delivered
    assert Route("all").matches(explained(1, classes))


def test_classes_do_not_filter_other_kinds_and_kinds_still_apply() -> None:
    route = Route("hook", classes=frozenset({"major"}))
    assert route.matches(versions(1, "3.13", ("3.13",)))
    only_changes = Route("hook", kinds=frozenset({EventKind.DIGEST_CHANGED}),
                         classes=frozenset({"major"}))
    assert not only_changes.matches(versions(1, "3.13", ("3.13",)))
    assert only_changes.matches(explained(2, ["major"]))
    assert [r.channel for r in routes_for(explained(3, ["minor"]), [
        route, Route("minor", classes=frozenset({"minor", "patch"})), Route("every")])] == [
        "minor", "every"]
