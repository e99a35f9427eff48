"""What one attempt to send a batch came to."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from watcher.notify.redact import clean


class OutcomeKind(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # try again later (outage, timeout, 4xx SMTP, 429, 5xx)
    FAILED = "failed"  # will not work without a change by a person (bad address, 400, 5xx SMTP)


@dataclass(frozen=True)
class Outcome:
    """Build with :meth:`delivered`, :meth:`retry` or :meth:`failed`: they clean the error text."""

    kind: OutcomeKind
    error: str | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait, when it did

    @classmethod
    def delivered(cls) -> Outcome:
        return cls(OutcomeKind.DELIVERED)

    @classmethod
    def retry(cls, error: str, *, retry_after: float | None = None,
              secrets: Iterable[str | None] = ()) -> Outcome:
        if retry_after is not None:
            retry_after = max(0.0, retry_after)
        return cls(OutcomeKind.RETRY, clean(error, secrets), retry_after)

    @classmethod
    def failed(cls, error: str, *, secrets: Iterable[str | None] = ()) -> Outcome:
        return cls(OutcomeKind.FAILED, clean(error, secrets))

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.DELIVERED

    def __str__(self) -> str:
        if self.kind is OutcomeKind.DELIVERED:
            return "delivered"
        after = f" (retry after {self.retry_after:g}s)" if self.retry_after is not None else ""
        return f"{self.kind.value}: {self.error}{after}"
