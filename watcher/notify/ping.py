"""The dead-man ping: a URL fetched after each round that ran, so a monitor (healthchecks.io,
Uptime Kuma's push monitors, Cronitor) raises the alarm when the pings stop coming.

Fire and forget: a ping never delays a round, is bounded by a timeout, and its failures are
logged once per run of failures, not once per round. The URL is a secret (it holds the
monitor's id) and is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from watcher.logs import get_logger

log = get_logger("watcher.ping")

PING_TIMEOUT = 10.0


class Pinger:
    def __init__(self, timeout: float = PING_TIMEOUT) -> None:
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self.sent = 0

    def ping(self, url: str) -> None:
        """Fetch ``url`` in the background; a ping still under way is not doubled."""
        if self._task is not None and not self._task.done():
            return
        self._task = asyncio.create_task(self._send(url), name="ping")

    async def _send(self, url: str) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=True)
        try:
            response = await self._client.get(url)
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            self._failed(f"the monitor answered {exc.response.status_code}")
        except httpx.HTTPError as exc:
            self._failed(f"{type(exc).__name__}: no answer")
        else:
            self.sent += 1
            if self._failing:
                log.info("dead-man ping delivered again")
            self._failing = False

    def _failed(self, why: str) -> None:
        if not self._failing:
            log.warning("dead-man ping failed; the monitor may raise an alarm", error=why)
        self._failing = True

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, self._timeout)
        if self._client is not None:
            await self._client.aclose()
