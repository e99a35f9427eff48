"""Errors a channel raises when it is set up wrongly (never for a failed delivery)."""

from __future__ import annotations

from watcher.errors import WatcherError


class ChannelError(WatcherError):
    """A notification channel cannot be used as configured."""

    def __init__(self, channel: str, message: str) -> None:
        self.channel = channel
        super().__init__(f"notification channel {channel!r}: {message}")
