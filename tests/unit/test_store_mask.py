"""Database URLs as they may be shown: no piece of a password, however it is written."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from watcher.store.engine import mask


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql+psycopg://watcher:s3cret@db/watcher", "s3cret"),
        ("postgresql+psycopg://watcher:p@ss@db/watcher", "ss"),  # an unescaped '@'
        ("postgresql+psycopg://watcher:a/b:c?d#e@db/watcher", "a/b"),
        ("postgresql+psycopg://watcher@db/watcher?password=hunter2", "hunter2"),
        ("postgresql+psycopg://db/watcher?sslmode=require&PASSWORD=hunter2", "hunter2"),
    ],
)
def test_no_part_of_a_password_is_shown(url: str, secret: str) -> None:
    shown = mask(url)
    assert secret not in shown
    assert "db" in shown
    assert "***" in shown


def test_a_parsed_url_hides_its_query_password_too() -> None:
    shown = mask(make_url("postgresql+psycopg://u:pw1@db/w?password=pw2"))
    assert "pw1" not in shown
    assert "pw2" not in shown


def test_a_url_without_secrets_is_shown_as_it_is() -> None:
    assert mask("sqlite:////var/lib/watcher/watcher.db") == "sqlite:////var/lib/watcher/watcher.db"
    assert mask("postgresql+psycopg://watcher@db:5432/watcher") == (
        "postgresql+psycopg://watcher@db:5432/watcher"
    )
