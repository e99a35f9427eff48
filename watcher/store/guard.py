"""Translating SQLAlchemy's errors into ``StorageError`` at the Store's boundary."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from watcher.errors import StorageError

P = ParamSpec("P")
R = TypeVar("R")


class Describes(Protocol):
    def _describe(self, exc: SQLAlchemyError, *, connecting: bool = False) -> str: ...


S = TypeVar("S", bound=Describes)


def storage_errors(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Translate SQLAlchemy's errors into StorageError, naming the database."""

    @functools.wraps(method)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except SQLAlchemyError as exc:
            raise StorageError(self._describe(exc)) from exc

    return wrapper
