"""Converting between table rows and the core's and the store's types, in one place.

Event payloads go through ``watcher.core.events`` (``payload_data``/``payload_from_data``):
the JSON is the same as stored before the payloads were typed.

Rows are read as tuples in a fixed column order, not by name: ``statuses()`` builds
10,000 of them and named access costs a third of its time. The JSON columns are read as
they come from the driver (text on SQLite, already parsed on PostgreSQL) and parsed here,
skipping the parser for the empty values most rows hold.
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from sqlalchemy import Column, Connection, Label, Select, Text, null, select, type_coerce

from watcher.core.changes import ImageState, NewerVersions
from watcher.core.events import Event, payload_data, payload_from_data
from watcher.store.records import ImageStatus, StoredEvent
from watcher.store.schema import events, images, utc_from_driver


def _as_driven(column: Column[Any]) -> Label[Any]:
    """A JSON column without SQLAlchemy's result processing (see :func:`parsed`)."""
    return type_coerce(column, Text).label(column.name)


def parsed(value: Any) -> Any:
    """A JSON column's value as :func:`_as_driven` read it: text is parsed, anything else
    (a driver that parses JSON itself) is already a value."""
    if not isinstance(value, str):
        return value
    if value == "[]":
        return []
    if value == "{}":
        return {}
    if _scan is not None:
        try:
            found, end = _scan(value, 0)
        except (StopIteration, ValueError):
            found, end = None, -1
        if end == len(value):
            return found
    return json.loads(value)  # whitespace around the value, or its error message


# The C scanner json.loads ends in, called directly: the store writes compact JSON, and the
# whitespace matching and the wrapper calls around it were half of reading 10,000 images.
_c_scanner: Any = getattr(json.scanner, "c_make_scanner", None)
_scan = _c_scanner(json.JSONDecoder()) if _c_scanner else None


_Record = TypeVar("_Record")


def record(cls: type[_Record], values: dict[str, Any]) -> _Record:
    """``cls(**values)`` for a frozen dataclass without a ``__post_init__``, minus the cost of
    its generated ``__init__`` (one ``object.__setattr__`` per field: a third of the time
    ``statuses()`` spends building 10,000 states). ``values`` must name every field; the
    rows come from the store's own columns, so there is nothing to validate."""
    instance = object.__new__(cls)
    instance.__dict__.update(values)
    return instance


def _fields_of(cls: type) -> frozenset[str]:
    if hasattr(cls, "__post_init__") or "__slots__" in vars(cls):
        raise TypeError(f"{cls.__name__} cannot be built by record()")
    return frozenset(f.name for f in fields(cls))


# The classes record() builds, checked once at import: none may gain a __post_init__ (record()
# would skip it). tests/unit/test_store_codec.py checks that the builders name every field.
RECORD_FIELDS = {cls: _fields_of(cls) for cls in (ImageState, StoredEvent, ImageStatus)}


def driver_rows(connection: Connection, query: Select[Any]) -> list[Sequence[Any]]:
    """The query's rows as the DBAPI cursor returns them, without SQLAlchemy's result rows
    and processors (a third of reading 10,000 images). Only for queries whose every column
    the caller converts: :func:`image_state` and :func:`stored_event` with ``from_driver``."""
    result = connection.execute(query)
    try:
        rows = list(result.cursor.fetchall())
    finally:
        result.close()
    return rows


def mapping(value: Any) -> dict[str, Any]:
    return dict(value) if value else {}


def state_values(state: ImageState) -> dict[str, Any]:
    return {
        "ref": state.ref,
        "digest": state.digest,
        "media_type": state.media_type,
        "platforms": dict(state.platforms),
        "newer_same_line": state.newer.same_line,
        "newer_newest": state.newer.newest,
        "reported_same_line": state.reported_same_line,
        "reported_newest": state.reported_newest,
        "tags_fingerprint": state.tags_fingerprint,
        "removed": state.removed,
        "changes": state.changes,
        "last_changed_at": state.last_changed_at,
        "last_checked_at": state.last_checked_at,
        "last_error": state.last_error,
        "last_error_status": state.last_error_status,
        "failing_since": state.failing_since,
        "failure_count": state.failure_count,
        "missing_platforms": list(state.missing_platforms),
        "tags_error": state.tags_error,
    }


def new_image(state: ImageState, now: datetime) -> dict[str, Any]:
    """A new row. What the user acknowledged is written by ``acknowledge`` only."""
    return {
        **state_values(state),
        "acknowledged_same_line": state.acknowledged_same_line,
        "acknowledged_newest": state.acknowledged_newest,
        "active": True,
        "added_at": now,
    }


# Columns in the order image_state() unpacks them.
STATE = select(
    images.c.ref,
    images.c.digest,
    images.c.media_type,
    _as_driven(images.c.platforms),
    images.c.newer_same_line,
    images.c.newer_newest,
    images.c.reported_same_line,
    images.c.reported_newest,
    images.c.tags_fingerprint,
    images.c.removed,
    images.c.changes,
    images.c.last_changed_at,
    images.c.last_checked_at,
    images.c.last_error,
    images.c.last_error_status,
    images.c.failing_since,
    images.c.failure_count,
    _as_driven(images.c.missing_platforms),
    images.c.tags_error,
    images.c.acknowledged_same_line,
    images.c.acknowledged_newest,
)
_STATE_COLUMNS = 21
# The same columns with platforms read as NULL: for readers that show no platform.
STATE_WITHOUT_PLATFORMS = select(*[
    null().label("platforms") if column.name == "platforms" else column
    for column in STATE.selected_columns
])
_NO_PLATFORMS: Mapping[str, str] = MappingProxyType({})


def image_state(row: Sequence[Any], *, from_driver: bool = False) -> ImageState:
    """With ``from_driver``, ``row`` is the DBAPI cursor's, not processed by SQLAlchemy
    (see :func:`driver_rows`): its datetimes are converted here."""
    (
        ref,
        digest,
        media_type,
        platforms,
        same_line,
        newest,
        reported_same_line,
        reported_newest,
        tags_fingerprint,
        removed,
        changes,
        last_changed_at,
        last_checked_at,
        last_error,
        last_error_status,
        failing_since,
        failure_count,
        missing,
        tags_error,
        acknowledged_same_line,
        acknowledged_newest,
    ) = row[:_STATE_COLUMNS]
    if from_driver:
        last_changed_at = utc_from_driver(last_changed_at)
        last_checked_at = utc_from_driver(last_checked_at)
        failing_since = utc_from_driver(failing_since)
    return record(ImageState, {
        "ref": ref,
        "digest": digest,
        "media_type": media_type,
        "platforms": MappingProxyType(parsed(platforms) or {}) if platforms else _NO_PLATFORMS,
        "newer": NewerVersions(same_line, newest),
        "reported_same_line": reported_same_line,
        "reported_newest": reported_newest,
        "tags_fingerprint": tags_fingerprint,
        "removed": bool(removed),
        "changes": changes,
        "last_changed_at": last_changed_at,
        "last_checked_at": last_checked_at,
        "last_error": last_error,
        "last_error_status": last_error_status,
        "failing_since": failing_since,
        "failure_count": failure_count,
        "missing_platforms": tuple(parsed(missing) or ()),
        "tags_error": tags_error,
        "acknowledged_same_line": acknowledged_same_line,
        "acknowledged_newest": acknowledged_newest,
    })


EVENTS = (
    select(
        events.c.id,
        events.c.kind,
        images.c.ref,
        events.c.created_at,
        _as_driven(events.c.data),
        events.c.acknowledged_at,
    )
    .join(images, images.c.id == events.c.image_id)
    .order_by(events.c.created_at, events.c.id)
)


def stored_event(row: Sequence[Any], *, from_driver: bool = False) -> StoredEvent:
    id_, kind, ref, created_at, data, acknowledged_at = row
    if from_driver:
        created_at = utc_from_driver(created_at)
        acknowledged_at = utc_from_driver(acknowledged_at)
    return record(StoredEvent, {
        "id": id_,
        "ref": ref,
        "created_at": created_at,
        "payload": payload_from_data(kind, parsed(data)),
        "acknowledged_at": acknowledged_at,
    })


def event_values(event: Event, image_id: int) -> dict[str, Any]:
    """A new, pending event row."""
    return {
        "id": event.id,
        "image_id": image_id,
        "kind": event.kind.value,
        "created_at": event.created_at,
        "data": payload_data(event.payload),
    }
