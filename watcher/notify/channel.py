"""What every channel offers the delivery worker."""

from __future__ import annotations

from typing import Protocol

from watcher.notify.message import Batch
from watcher.notify.outcome import Outcome


class Channel(Protocol):
    """A place notices go. ``send`` never raises for a failed delivery: it says what happened.

    ``grouped`` channels get all the notices one round found for them in one batch; the others
    get batches of one notice each.
    """

    @property
    def name(self) -> str: ...

    @property
    def grouped(self) -> bool: ...

    async def send(self, batch: Batch) -> Outcome: ...
