"""Finding the SQLite file behind a URL, for opening a database that must already exist."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from sqlalchemy.engine import make_url

from watcher.errors import StorageError

S = TypeVar("S")


def open_existing(url: str, *, read_only: bool, open_url: Callable[[str], S]) -> S:
    """``open_url`` on ``url`` when it names an existing database (see ``Store.open_existing``).

    A SQLite file that does not exist is refused rather than created. With ``read_only`` the
    file is opened read-only; in a directory nobody can write to (no ``-wal``/``-shm`` can be
    created, so nothing can be writing either) it is read as immutable.
    """
    path = sqlite_file(url)
    if path is None:
        return open_url(url)
    if not Path(path).exists():
        raise StorageError(f"no database at {path} yet: run `watcher check` first")
    if not read_only:
        return open_url(url)
    try:
        return open_url(sqlite_uri(url, path, "mode=ro"))
    except StorageError:
        if directory_writable(path):
            raise
    return open_url(sqlite_uri(url, path, "immutable=1"))


def sqlite_file(url: str) -> str | None:
    """The path of the SQLite file ``url`` names; None for other databases, memory and URIs."""
    parsed = make_url(url) if "://" in url else None
    if parsed is None or parsed.get_backend_name() != "sqlite":
        return None
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path


def sqlite_uri(url: str, path: str, option: str) -> str:
    """The SQLAlchemy URL of the SQLite URI ``file:PATH?OPTION`` (path percent-encoded)."""
    parsed = make_url(url)
    query = "".join(f"&{key}={value}" for key, value in parsed.query.items())
    absolute = quote(str(Path(path).absolute()))
    return f"{parsed.drivername}:///file:{absolute}?{option}{query}&uri=true"


def directory_writable(path: str) -> bool:
    """True when the directory holding ``path`` can be written to (SQLite's -wal/-shm)."""
    return os.access(Path(path).absolute().parent, os.W_OK)
