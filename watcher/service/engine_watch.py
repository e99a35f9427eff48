"""Engine sources in the daemon: rescanned before each round, and soon after an engine says
a container was created, started, renamed or destroyed (its events stream), so that a new
container is tracked within seconds. The files sources are read with them (before each
round), their scanners kept here so that only the files that changed are read again.

Each engine's events stream is followed by a task of its own, reconnecting with a growing
delay when the engine goes away; events arriving together cause one rescan
(:data:`DEBOUNCE` seconds after the first).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace

from watcher.config import Config
from watcher.config.engines import EngineSourceConfig
from watcher.errors import EngineError
from watcher.logs import get_logger
from watcher.registry import RegistryClient
from watcher.service.engines import discover, endpoint_for
from watcher.service.file_links import FileSources
from watcher.sources.engine import EngineClient
from watcher.store import Store

log = get_logger("watcher.engines")

DEBOUNCE = 1.0
RECONNECT_FIRST, RECONNECT_MOST = 1.0, 60.0


class EngineWatch:
    """The daemon's engine sources: one rescan at a time, and the events that ask for one."""

    def __init__(self, *, debounce: float = DEBOUNCE) -> None:
        self._debounce = debounce
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._files = FileSources()  # kept between rounds: only changed files are read again

    async def merged(self, file_config: Config, store: Store,
                     client: RegistryClient | None) -> Config:
        """``file_config`` with its sources' images (engines, files) added, made the active
        images."""
        async with self._lock:
            discovery = await discover(file_config, store, client=client, files=self._files)
        return replace(file_config, images=discovery.images)

    def follow(self, config: Config, on_change: Callable[[], Awaitable[None]]) -> None:
        """Follow ``config``'s engines' events (replacing what was followed); call
        ``on_change`` once per burst of events."""
        self.stop_following()
        self._tasks = [asyncio.create_task(self._follow(source), name=f"engine:{source.name}")
                       for source in config.sources.engines]
        if self._tasks:
            self._tasks.append(asyncio.create_task(self._react(on_change), name="engine-events"))

    def stop_following(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self, source: EngineSourceConfig) -> None:
        delay, connected_before = RECONNECT_FIRST, False
        while True:
            try:
                async with EngineClient(endpoint_for(source)) as client:
                    await client.negotiate()
                    if connected_before:  # what happened while disconnected is unknown
                        self._changed.set()
                    connected_before, delay = True, RECONNECT_FIRST
                    async for action in client.events():
                        log.debug("engine event", engine=source.name, action=action)
                        self._changed.set()
            except EngineError as exc:
                log.info("engine events unavailable; trying again", engine=source.name,
                         error=exc.message, retry_in=delay)
            except Exception:  # following the events must outlive anything an engine sends
                log.exception("following the engine's events failed; trying again",
                              engine=source.name, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MOST)

    async def _react(self, on_change: Callable[[], Awaitable[None]]) -> None:
        while True:
            await self._changed.wait()
            await asyncio.sleep(self._debounce)
            self._changed.clear()
            try:
                await on_change()
            except Exception:  # a failed rescan waits for the next event or round
                log.exception("rescanning the engines failed")
