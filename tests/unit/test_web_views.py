"""Pure parts of the status page: the chart's counting and geometry, filters, tags of refs,
the token in an Authorization header, and ``[http] auth_token_env``."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from watcher.config.http_auth import read_auth_token
from watcher.config.reader import Reader
from watcher.core.changes import HistoryEntry, HistoryKind
from watcher.core.status import Attention
from watcher.errors import ConfigError
from watcher.views.activity import chart, per_day
from watcher.views.dashboard import Filters, tag_of
from watcher.web.pages.auth import presented_token

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _entry(days_ago: int, kind: HistoryKind) -> HistoryEntry:
    return HistoryEntry("r.example/a:1", NOW - timedelta(days=days_ago), kind, {})


def test_per_day_counts_each_series_on_its_day_and_drops_older_rows() -> None:
    entries = [_entry(0, HistoryKind.DIGEST_CHANGED), _entry(0, HistoryKind.NEW_VERSION),
               _entry(2, HistoryKind.FAILING), _entry(2, HistoryKind.FAILING),
               _entry(3, HistoryKind.BASELINE), _entry(30, HistoryKind.DIGEST_CHANGED)]
    days = per_day(entries, NOW, 30)
    assert len(days) == 30
    assert days[-1].day == NOW.date()
    assert days[-1].counts == {"changes": 1, "new_versions": 1, "failures": 0}
    assert days[-3].counts["failures"] == 2
    assert sum(d.total for d in days) == 4  # the baseline and the 30-day-old row not counted


def test_chart_scales_to_the_busiest_day_and_stacks() -> None:
    days = per_day([_entry(0, HistoryKind.DIGEST_CHANGED), _entry(0, HistoryKind.NEW_VERSION),
                    _entry(1, HistoryKind.FAILING)], NOW, 10)
    drawn = chart(days, width=100, height=50)
    assert drawn.peak == 2
    today = [bar for bar in drawn.bars if bar.x > 90]
    assert [b.series for b in today] == ["changes", "new_versions"]
    assert sum(b.height for b in today) == pytest.approx(50)
    assert today[1].y == pytest.approx(0)  # stacked up to the top
    yesterday = [bar for bar in drawn.bars if 80 < bar.x < 90]
    assert yesterday[0].height == pytest.approx(25)
    assert all(bar.x + bar.width <= 100 for bar in drawn.bars)


def test_an_empty_chart_draws_nothing() -> None:
    drawn = chart(per_day([], NOW, 30))
    assert drawn.bars == ()
    assert drawn.peak == 1
    assert drawn.description == "Last 30 days: 0 changes, 0 new versions, 0 failures."


def test_filters_from_query_parameters() -> None:
    assert Filters.parse("failing", "  py ") == Filters(Attention.FAILING, "py")
    assert Filters.parse("nonsense", None) == Filters(None, "")
    assert len(Filters.parse(None, "x" * 1000).text) == 200


@pytest.mark.parametrize(("ref", "tag"), [
    ("docker.io/library/python:3.12", "3.12"),
    ("127.0.0.1:5000/lib/app:1.0", "1.0"),
    ("127.0.0.1:5000/lib/app", ""),
])
def test_tag_of(ref: str, tag: str) -> None:
    assert tag_of(ref) == tag


def test_presented_token() -> None:
    basic = base64.b64encode(b"me:to:ken").decode()
    assert presented_token("Bearer abc") == "abc"
    assert presented_token(f"Basic {basic}") == "to:ken"
    assert presented_token("Basic !!!") is None
    assert presented_token("Digest x") is None
    assert presented_token(None) is None


def test_auth_token_env(tmp_path: Path) -> None:
    reader = Reader(tmp_path / "watcher.toml")
    assert read_auth_token(reader, {}, {}) is None
    assert read_auth_token(reader, {"auth_token_env": "PAGE_TOKEN"}, {"PAGE_TOKEN": "t "}) == "t"
    with pytest.raises(ConfigError, match="PAGE_TOKEN is not set") as unset:
        read_auth_token(reader, {"auth_token_env": "PAGE_TOKEN"}, {})
    assert "http.auth_token_env" in str(unset.value)
    assert "watcher.toml" in str(unset.value)
    with pytest.raises(ConfigError, match="not an environment variable name"):
        read_auth_token(reader, {"auth_token_env": "$X"}, {})
    with pytest.raises(ConfigError, match="must be a string"):
        read_auth_token(reader, {"auth_token_env": 3}, {})
