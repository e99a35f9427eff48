"""The codec builds the store's records without their generated ``__init__``: each builder
must still set every field, and the result must equal the one ``__init__`` makes."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import pytest

from watcher.core.changes import EventKind, ImageState, NewerVersions
from watcher.store import codec
from watcher.store.records import ImageStatus, StoredEvent

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def _names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def _state_row(**overrides: Any) -> list[Any]:
    values = {
        "ref": "registry.example/team/app:1.2", "digest": "sha256:" + "a" * 64,
        "media_type": "application/vnd.oci.image.index.v1+json",
        "platforms": json.dumps({"linux/amd64": "sha256:" + "b" * 64}),
        "same_line": "1.3", "newest": "2.0", "reported_same_line": "1.3",
        "reported_newest": None, "tags_fingerprint": "f", "removed": 0, "changes": 2,
        "last_changed_at": T0, "last_checked_at": T0, "last_error": "boom",
        "last_error_status": 503, "failing_since": T0, "failure_count": 1,
        "missing": json.dumps(["linux/arm64"]), "tags_error": None,
        "acknowledged_same_line": "1.3", "acknowledged_newest": None,
    }
    values.update(overrides)
    return list(values.values())


def test_image_state_sets_every_field_and_equals_the_constructed_one() -> None:
    state = codec.image_state(_state_row())
    assert set(vars(state)) == _names(ImageState)
    assert state == ImageState(
        ref="registry.example/team/app:1.2", digest="sha256:" + "a" * 64,
        media_type="application/vnd.oci.image.index.v1+json",
        platforms={"linux/amd64": "sha256:" + "b" * 64}, newer=NewerVersions("1.3", "2.0"),
        reported_same_line="1.3", tags_fingerprint="f", changes=2, last_changed_at=T0,
        last_checked_at=T0, last_error="boom", last_error_status=503, failing_since=T0,
        failure_count=1, missing_platforms=("linux/arm64",), acknowledged_same_line="1.3",
    )
    assert state.failing
    assert state.seen


def test_json_columns_as_text_or_already_parsed() -> None:
    from_text = codec.image_state(_state_row(platforms="{}", missing="[]"))
    parsed = codec.image_state(_state_row(platforms={}, missing=None))
    assert dict(from_text.platforms) == dict(parsed.platforms) == {}
    assert from_text.missing_platforms == parsed.missing_platforms == ()
    assert codec.parsed('{"a": [1]}') == {"a": [1]} == codec.parsed({"a": [1]})
    assert codec.parsed("null") is None


def test_stored_event_sets_every_field() -> None:
    data = {"old_digest": "sha256:" + "a" * 64, "new_digest": "sha256:" + "c" * 64}
    event = codec.stored_event(
        ("e1", EventKind.DIGEST_CHANGED.value, "registry.example/team/app:1.2", T0,
         json.dumps(data), None))
    assert set(vars(event)) == _names(StoredEvent)
    assert event.kind is EventKind.DIGEST_CHANGED
    assert event == StoredEvent(event.id, event.ref, T0, event.payload, None)


def test_record_builds_what_init_builds() -> None:
    state = ImageState(ref="r")
    status = codec.record(ImageStatus, {"state": state, "active": True, "pending": ()})
    assert set(vars(status)) == _names(ImageStatus)
    assert status == ImageStatus(state, True)
    assert codec.RECORD_FIELDS[ImageStatus] == _names(ImageStatus)


def test_json_text_parsed_like_json_loads() -> None:
    for text in ('{"a":[1,2.5,{"b":null}],"c":"\\u00e9"}', ' {"a": 1} ', '["x"]', "null", "7"):
        assert codec.parsed(text) == json.loads(text)


def test_broken_json_text_raises_as_json_loads_does() -> None:
    for text in ('{"a":', '{"a":1}x', "", "[1,]"):
        with pytest.raises(ValueError, match="line 1 column"):
            codec.parsed(text)


def test_a_class_with_post_init_is_refused() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    @dataclass(frozen=True)
    class Inherits(Checked):
        extra: int = 0

    for cls in (Checked, Inherits):
        with pytest.raises(TypeError, match="cannot be built by record"):
            codec._fields_of(cls)
