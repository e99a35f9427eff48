"""UTCDateTime: aware UTC in and out, whatever the dialect keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from watcher.store.schema import UTCDateTime

SQLITE = sqlite.dialect()
POSTGRESQL = postgresql.dialect()
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_values_are_written_in_utc_without_offset_on_sqlite() -> None:
    local = T0.astimezone(timezone(timedelta(hours=-5)))
    assert UTCDateTime().process_bind_param(local, SQLITE) == datetime(2024, 5, 1, 12, 0)
    assert UTCDateTime().process_bind_param(local, POSTGRESQL) == T0


def test_naive_values_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(datetime(2024, 5, 1), SQLITE)


@pytest.mark.parametrize(
    "stored",
    ["2024-05-01 12:00:00.000000", "2024-05-01 12:00:00", "2024-05-01T14:00:00+02:00"],
)
def test_sqlite_text_is_read_as_aware_utc(stored: str) -> None:
    process = UTCDateTime().result_processor(SQLITE, None)
    assert process is not None
    value = process(stored)
    assert value == T0
    assert value is not None
    assert value.tzinfo is UTC
    assert process(None) is None


def test_other_dialects_convert_to_utc() -> None:
    local = T0.astimezone(timezone(timedelta(hours=3)))
    value = UTCDateTime().process_result_value(local, POSTGRESQL)
    assert value == T0
    assert value is not None
    assert value.tzinfo is UTC
