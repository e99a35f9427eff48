"""The events views: grouping deliveries by event, the JSON documents, the counts per channel."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from watcher.core.events import DigestChanged, Event
from watcher.views.events import (
    attention_lines,
    by_event,
    counts_document,
    delivery_note,
    events_document,
    has_failing,
    next_attempt,
    selected_states,
    until,
)

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
OLD = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64


@dataclass(frozen=True)
class FakeDelivery:
    """Plain data in the shape of the store's delivery record (a pure view needs no store)."""

    id: int
    event: Event
    channel: str
    state: str = "pending"
    not_before: datetime = NOW
    expires_at: datetime = NOW + timedelta(days=1)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    note: str | None = None


def event(ref: str, minutes: int, event_id: str) -> Event:
    return Event(event_id, ref, NOW - timedelta(minutes=minutes), DigestChanged(OLD, NEW))


def test_deliveries_group_by_event_oldest_first_channels_by_name() -> None:
    late, early = event("b:1", 1, "e2"), event("a:1", 5, "e1")
    deliveries = [FakeDelivery(3, late, "ci"), FakeDelivery(2, early, "mail"),
                  FakeDelivery(1, early, "ci")]
    groups = by_event(deliveries)
    assert [g.event.id for g in groups] == ["e1", "e2"]
    assert [d.channel for d in groups[0].deliveries] == ["ci", "mail"]
    assert [g.event.id for g in by_event(deliveries, limit=1)] == ["e2"]


def test_the_events_document_keeps_the_error_exact() -> None:
    error = "HTTP 400: bad \x1b[31mrequest\n"
    delivery = FakeDelivery(7, event("a:1", 5, "e1"), "ci", state="failed", attempts=2,
                            last_attempt_at=NOW, last_error=error)
    [document] = events_document(by_event([delivery]))["events"]
    assert document["ref"] == "a:1"
    assert document["id"] == "e1"
    assert document["kind"] == "digest_changed"
    assert document["new_digest"] == NEW
    assert document["deliveries"] == [{
        "id": 7, "channel": "ci", "state": "failed", "attempts": 2,
        "not_before": NOW.isoformat(), "next_attempt_at": None,
        "last_attempt_at": NOW.isoformat(), "last_error": error, "delivered_at": None,
        "expires_at": (NOW + timedelta(days=1)).isoformat(), "note": None,
    }]
    assert delivery_note(delivery) == f"last error: {error}"


def test_next_attempt_counts_the_soak_window_and_the_retry() -> None:
    base = FakeDelivery(1, event("a:1", 5, "e1"), "ci")
    assert next_attempt(base, NOW) == "now"
    assert next_attempt(replace(base, not_before=NOW + timedelta(hours=2)), NOW) == "in 2h"
    retry = replace(base, attempts=1, next_attempt_at=NOW + timedelta(seconds=90))
    assert next_attempt(retry, NOW) == "in 1m"
    assert next_attempt(replace(retry, state="failed"), NOW) == "-"
    assert until(NOW + timedelta(seconds=5), NOW) == "in 5s"
    assert until(None, NOW) == "-"


def test_selected_states() -> None:
    assert selected_states(pending=False, failed=False) is None
    assert selected_states(pending=True, failed=False) == frozenset({"pending"})
    assert selected_states(pending=False, failed=True) == frozenset({"failed", "expired"})
    assert selected_states(pending=True, failed=True) == frozenset({"pending", "failed", "expired"})


def test_counts_name_only_the_channels_that_need_a_look() -> None:
    counts = {"mail": {"delivered": 4}, "ci": {"pending": 2, "failed": 1, "expired": 3}}
    assert attention_lines(counts) == [("ci", "2 undelivered, 1 failed, 3 expired")]
    assert counts_document(counts) == {
        "ci": {"pending": 2, "delivered": 0, "failed": 1, "expired": 3, "superseded": 0},
        "mail": {"pending": 0, "delivered": 4, "failed": 0, "expired": 0, "superseded": 0},
    }
    assert has_failing(counts)
    assert not has_failing({"ci": {"pending": 2}})
