"""Opening a database that must already exist, for the commands that read or acknowledge
(``status``, ``history``, ``ack``): never migrated, never created.

A SQLite file that is not there is refused with a message saying how it comes to be, rather
than created empty. With ``read_only`` the file is opened read-only, so ``status`` and
``history`` work on a file or directory the user may only read (a read-only mount, another
user's database). SQLite then needs the ``-wal``/``-shm`` files beside the database when they
cannot be created; without them, in a directory nobody can write to, nothing can be writing
either, and the file is read as immutable.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url

from watcher.errors import StorageError
from watcher.store.store import Store


def open_existing(url: str, *, read_only: bool = False) -> Store:
    """Open the database at ``url`` if it exists, at its current schema (see module doc)."""
    parsed = make_url(url) if "://" in url else None
    if parsed is None or parsed.get_backend_name() != "sqlite":
        return Store.open(url, upgrade=False)
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return Store.open(url, upgrade=False)
    if not Path(path).exists():
        raise StorageError(f"no database at {path} yet: run `watcher check` first")
    if not read_only:
        return Store.open(url, upgrade=False)
    try:
        return Store.open(_sqlite_uri(parsed, path, "mode=ro"), upgrade=False)
    except StorageError:
        directory = Path(path).absolute().parent
        if os.access(directory, os.W_OK):
            raise
    return Store.open(_sqlite_uri(parsed, path, "immutable=1"), upgrade=False)


def _sqlite_uri(url: URL, path: str, option: str) -> str:
    """The SQLAlchemy URL of the SQLite URI ``file:PATH?OPTION`` (path percent-encoded)."""
    query = "".join(f"&{key}={value}" for key, value in url.query.items())
    return f"{url.drivername}:///file:{quote(str(Path(path).absolute()))}?{option}{query}&uri=true"
