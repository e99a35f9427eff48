"""Opening a database that cannot be used: a StorageError that names it and says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import free_port
from watcher.errors import StorageError
from watcher.store import Store


def test_a_malformed_url_is_refused_with_an_example() -> None:
    with pytest.raises(StorageError, match=r"invalid database URL 'watcher\.db'.*sqlite:///"):
        Store.open("watcher.db")


def test_an_unknown_database_kind_names_the_url() -> None:
    with pytest.raises(StorageError, match="no database driver for 'nosuchdb://host/x'"):
        Store.open("nosuchdb://host/x")


@pytest.mark.parametrize("password", ["s3cret", "s3/cr?et", "s3:cr/et#"])
def test_an_unreachable_server_masks_the_password(password: str) -> None:
    url = f"postgresql+psycopg://watcher:{password}@127.0.0.1:{free_port()}/watcher"
    with pytest.raises(StorageError) as caught:
        Store.open(url)
    message = caught.value.message
    assert "s3" not in message
    assert "cannot connect to postgresql+psycopg://watcher:***@127.0.0.1" in message
    assert "server is running" in message


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'watcher.db'}"
    with pytest.raises(StorageError, match="check that the directory exists and is writable"):
        Store.open(url)


def test_reading_an_unmigrated_database_says_to_upgrade(tmp_path: Path) -> None:
    with (
        Store.connect(f"sqlite:///{tmp_path / 'watcher.db'}") as store,
        pytest.raises(StorageError, match=r"no such table.*run `watcher db upgrade`"),
    ):
        store.statuses()
