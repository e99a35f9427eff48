"""What the Store's method mixins (outbox, listings, ...) use of the Store itself."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError


class StoreParts:
    """The Store's engine, its one write transaction at a time, and its error wording:
    provided by :class:`~watcher.store.store.Store`."""

    _engine: Engine

    def _writing(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _describe(self, exc: SQLAlchemyError, *, connecting: bool = False) -> str:
        raise NotImplementedError
