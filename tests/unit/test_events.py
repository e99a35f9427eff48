"""Typed event payloads: the one conversion to and from stored JSON, and the one wording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from watcher.core.changes import (
    HistoryEntry,
    HistoryKind,
    ImageState,
    Observation,
    WatchPolicy,
    decide,
)
from watcher.core.events import (
    DigestChanged,
    Event,
    EventKind,
    EventPayload,
    FirstSeen,
    NewVersion,
    TagRemoved,
    describe_event,
    payload_data,
    payload_from_data,
)
from watcher.core.observation import OCI_INDEX, ManifestObservation
from watcher.core.status import Attention
from watcher.store import ImageStatus, StoredEvent
from watcher.views.history import describe_entry, entry_payload
from watcher.views.status import reasons, status_rows

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
T0 = datetime(2026, 1, 1, tzinfo=UTC)

PAYLOADS: list[tuple[EventPayload, dict[str, Any]]] = [
    (
        DigestChanged(A, B, {"linux/amd64": "changed", "linux/arm64/v8": "added"}),
        {
            "old_digest": A,
            "new_digest": B,
            "changed_platforms": {"linux/amd64": "changed", "linux/arm64/v8": "added"},
        },
    ),
    (
        NewVersion("3.12.2", "3.14.0", ("3.12.2", "3.14.0")),
        {"same_line": "3.12.2", "newest": "3.14.0", "new": ["3.12.2", "3.14.0"]},
    ),
    (TagRemoved(A), {"tag_digest": A}),
    (FirstSeen(A, {"linux/amd64": B}), {"digest": A, "platforms": {"linux/amd64": B}}),
]


@pytest.mark.parametrize(("payload", "data"), PAYLOADS)
def test_payloads_are_stored_as_the_documented_json_and_read_back(
    payload: EventPayload, data: dict[str, Any]
) -> None:
    assert payload_data(payload) == data
    assert list(payload_data(payload)) == list(data)  # the documents' field order
    assert payload_from_data(payload.kind, data) == payload
    assert payload_from_data(payload.kind.value, payload_data(payload)) == payload


def test_rows_stored_with_fields_missing_still_read() -> None:
    assert payload_from_data("digest_changed", {}) == DigestChanged(None, "")
    assert payload_from_data("new_version", {"new": ["3.13.0"]}) == NewVersion(
        None, None, ("3.13.0",)
    )
    assert payload_from_data("tag_removed", None) == TagRemoved(None)
    assert payload_from_data("first_seen", {"digest": A}) == FirstSeen(A)
    with pytest.raises(ValueError, match="'moved'"):
        payload_from_data("moved", {})


def test_an_event_takes_its_kind_and_data_from_its_payload() -> None:
    event = Event("e1", "docker.io/library/python:3.12", T0, TagRemoved(A))
    assert event.kind is EventKind.TAG_REMOVED
    assert event.data == {"tag_digest": A}


def test_decide_emits_typed_payloads_and_history_holds_the_same_data() -> None:
    ref = "docker.io/library/python:3.12"
    first = ManifestObservation(A, OCI_INDEX, {"linux/amd64": A, "linux/arm64": A})
    second = ManifestObservation(B, OCI_INDEX, {"linux/amd64": B, "linux/arm64": A})
    policy = WatchPolicy(notify_on_first_check=True)
    baseline = decide(ImageState(ref=ref), Observation(T0, manifest=first), policy)
    assert [e.payload for e in baseline.events] == [FirstSeen(A, first.platforms)]
    moved = decide(baseline.image, Observation(T0, manifest=second), policy)
    [event] = moved.events
    assert event.payload == DigestChanged(A, B, {"linux/amd64": "changed"})
    assert moved.history[0].data == payload_data(event.payload)
    assert entry_payload(moved.history[0]) == event.payload


def test_one_wording_per_kind() -> None:
    digest, newer, removed, seen = (p for p, _ in PAYLOADS)
    assert describe_event(digest) == (
        "sha256:aaaaaaaaaaaa -> sha256:bbbbbbbbbbbb (linux/amd64 changed, linux/arm64/v8 added)"
    )
    assert describe_event(digest, "2h ago").startswith("moved 2h ago: sha256:aaaaaaaaaaaa -> ")
    assert describe_event(newer) == "newer tag 3.12.2, 3.14.0"
    assert describe_event(removed) == "tag removed (was sha256:aaaaaaaaaaaa)"
    assert describe_event(removed, "1d ago") == "tag removed 1d ago (was sha256:aaaaaaaaaaaa)"
    assert describe_event(seen) == "first seen at sha256:aaaaaaaaaaaa (linux/amd64)"
    assert describe_event(seen, "5m ago") == (
        "first seen 5m ago at sha256:aaaaaaaaaaaa (linux/amd64)"
    )


def test_history_rows_of_events_are_worded_as_the_events() -> None:
    ref = "docker.io/library/python:3.12"
    for payload, data in PAYLOADS[:3]:
        kind = HistoryKind(payload.kind.value)
        text = describe_entry(HistoryEntry(ref, T0, kind, data))
        assert text.startswith(describe_event(payload))
    unwatched = {"old_digest": A, "new_digest": B, "changed_platforms": {}, "unwatched_only": True}
    assert describe_entry(HistoryEntry(ref, T0, HistoryKind.DIGEST_CHANGED, unwatched)) == (
        "sha256:aaaaaaaaaaaa -> sha256:bbbbbbbbbbbb (only platforms not watched)"
    )
    assert describe_entry(HistoryEntry(ref, T0, HistoryKind.NEW_VERSION, PAYLOADS[1][1])) == (
        "newer tag 3.12.2, 3.14.0 (same line 3.12.2, newest 3.14.0)"
    )


def test_status_reasons_word_pending_events_as_check_does() -> None:
    ref = "docker.io/library/python:3.12"
    state = ImageState(ref=ref, digest=B, last_checked_at=T0)
    later = T0 + timedelta(hours=2)
    pending = tuple(
        StoredEvent(f"e{i}", ref, T0 + timedelta(minutes=i), payload)
        for i, (payload, _) in enumerate(PAYLOADS)
    )
    item = ImageStatus(state=state, active=True, pending=pending)
    [row] = status_rows([item])
    assert row.level is Attention.REBUILD_NEEDED
    # The new version is told by the "newer" line from the state, not as an event.
    assert reasons(row.level, item, later) == [
        describe_event(PAYLOADS[0][0], "2h ago"),
        describe_event(PAYLOADS[2][0], "1h ago"),
        describe_event(PAYLOADS[3][0], "1h ago"),
    ]
