"""Every error watcher raises, in one place.

    WatcherError                      root: anything watcher reports to a user
    ├── ConfigError                   the config file is wrong (names file and key)
    ├── InvalidReference              an image reference does not parse
    ├── RegistryError                 talking to a registry failed (names registry and reference)
    │   ├── NotFound                  the repository, tag or blob does not exist (404)
    │   ├── Unauthorized              credentials missing or refused (401/403; names the realm)
    │   ├── RateLimited               429 after the retries allowed (carries Retry-After)
    │   ├── RegistryUnavailable       connection errors, timeouts, 5xx after retries
    │   └── InvalidResponse           the registry answered something we cannot trust or parse
    ├── StorageError                  the database cannot be used
    │   └── DatabaseTooNew            the database was migrated by a newer watcher
    ├── DeliveryError                 a delivery cannot be changed as asked (names its id)
    ├── EngineError                   a container engine source failed (names the source)
    │   ├── EngineUnavailable         its socket or address does not answer
    │   ├── EnginePermissionDenied    the socket exists but this user may not use it
    │   ├── EngineTooOld              it speaks an Engine API older than watcher needs
    │   └── EngineInvalidResponse     it answered something watcher cannot parse
    └── FilesSourceError              a files source's directory cannot be read (names it)

Lower-level exceptions (httpx, SQLAlchemy) are translated once, at the module boundary,
with ``raise ... from exc``. A message always says what failed and, where it helps, what to do.
"""

from __future__ import annotations


class WatcherError(Exception):
    """Something went wrong in watcher."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or type(self).__name__).strip())

    @property
    def message(self) -> str:
        return str(self.args[0])


class ConfigError(WatcherError):
    """The configuration is invalid."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        where = ""
        if path and key:
            where = f"{path}: {key}: "
        elif path:
            where = f"{path}: "
        elif key:
            where = f"{key}: "
        super().__init__(f"{where}{message}")


class InvalidReference(WatcherError):
    """An image reference could not be parsed."""

    def __init__(self, reference: str, reason: str) -> None:
        self.reference = reference
        self.reason = reason
        super().__init__(f"invalid image reference {reference!r}: {reason}")


class RegistryError(WatcherError):
    """A registry request failed."""

    def __init__(
        self,
        message: str,
        *,
        registry: str,
        reference: str | None = None,
        status: int | None = None,
    ) -> None:
        self.registry = registry
        self.reference = reference
        self.status = status
        target = f"{reference} on {registry}" if reference else registry
        super().__init__(f"{target}: {message}")


class NotFound(RegistryError):
    """The repository, tag or blob does not exist."""


class Unauthorized(RegistryError):
    """The registry refused our credentials, or we have none."""

    def __init__(self, message: str, *, realm: str | None = None, **kwargs: object) -> None:
        self.realm = realm
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class RateLimited(RegistryError):
    """The registry kept answering 429 Too Many Requests."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class RegistryUnavailable(RegistryError):
    """The registry could not be reached or kept failing (connection errors, timeouts, 5xx)."""


class InvalidResponse(RegistryError):
    """The registry sent a response that cannot be trusted or parsed."""


class StorageError(WatcherError):
    """The database cannot be used."""


class RewriteError(WatcherError):
    """A file could not be rewritten (it changed meanwhile, or cannot be read or written)."""


class DeliveryError(WatcherError):
    """A delivery cannot be changed as asked (unknown id, not in a state that allows it)."""


class DatabaseTooNew(StorageError):
    """The database was migrated by a newer version of watcher."""


class EngineError(WatcherError):
    """A container engine source (``[[sources.engine]]``) could not be read."""

    def __init__(self, message: str, *, source: str, url: str) -> None:
        self.source = source
        self.url = url
        super().__init__(f"engine {source} ({url}): {message}")


class EngineUnavailable(EngineError):
    """The engine's socket or address does not answer."""


class EnginePermissionDenied(EngineError):
    """The engine's socket exists, but this user may not connect to it."""


class EngineTooOld(EngineError):
    """The engine speaks an Engine API version older than watcher needs."""


class EngineInvalidResponse(EngineError):
    """The engine answered something watcher cannot parse."""


class FilesSourceError(WatcherError):
    """A files source (``[[sources.files]]``) could not be read: its directory is gone or
    unreadable."""

    def __init__(self, message: str, *, source: str, path: str) -> None:
        self.source = source
        self.path = path
        where = source if source == path else f"{source} ({path})"
        super().__init__(f"files source {where}: {message}; its last links are kept")
