"""Notifiers: how watcher tells people and machines that a base image changed.

One module per channel (``email``, ``webhook``, ``command``, ``apprise_channel``), each taking a
:class:`~watcher.notify.message.Batch` and answering an :class:`~watcher.notify.outcome.Outcome`
(delivered, retry later, or failed for good). A channel never raises for a failed delivery.

The service builds the messages; the notifiers know neither the store nor the registry client.
This package may import ``watcher.core`` and ``watcher.errors`` only.
"""

from __future__ import annotations

from watcher.notify.channel import Channel
from watcher.notify.message import Batch, Notice
from watcher.notify.outcome import Outcome, OutcomeKind

__all__ = ["Batch", "Channel", "Notice", "Outcome", "OutcomeKind"]
