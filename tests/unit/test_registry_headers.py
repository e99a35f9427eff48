from datetime import UTC, datetime

import pytest

from watcher.core.retry_after import parse_retry_after
from watcher.registry import RateLimit
from watcher.registry.headers import parse_link_next, parse_rate_limit

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 01 May 2024 12:00:30 GMT", 30.0),
        ("Wed, 01 May 2024 11:00:00 GMT", 0.0),  # in the past: no wait
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
)
def test_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    ("limit", "remaining", "expected"),
    [
        ("100;w=21600", "76;w=21600", RateLimit(100, 76, 21600.0)),
        ("100", "5", RateLimit(100, 5, None)),
        ("100, 100;w=21600", None, RateLimit(100, None, None)),
        ("200;w=3600;comment=x", "0", RateLimit(200, 0, 3600.0)),
        (None, "5", None),
        ("lots", "5", None),
    ],
)
def test_rate_limit(limit: str | None, remaining: str | None, expected: RateLimit | None) -> None:
    assert parse_rate_limit(limit, remaining) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('</v2/a/tags/list?n=2&last=b>; rel="next"', "/v2/a/tags/list?n=2&last=b"),
        ("<https://r.example/v2/a/tags/list?last=b>; rel=next", "https://r.example/v2/a/tags/list?last=b"),
        ('</prev>; rel="prev", </next>; rel="next"', "/next"),
        ('</x>; title="a"; rel="last next"', "/x"),
        ('</prev>; rel="prev"', None),
        ("", None),
        (None, None),
    ],
)
def test_link_next(value: str | None, expected: str | None) -> None:
    assert parse_link_next(value) == expected
