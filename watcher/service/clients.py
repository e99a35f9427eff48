"""The daemon's registry client, kept from round to round (its token cache and connection
pool with it) as long as the registry settings, re-read each round like Docker's credential
helpers, stay the same. A client replaced while other rounds still use it is closed once
the last of them ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from watcher.config import Config
from watcher.logs import get_logger
from watcher.registry import RegistryClient, RegistrySettings
from watcher.service.registries import registry_settings

log = get_logger("watcher.runtime")

_ClientSettings = tuple[dict[str, RegistrySettings], RegistrySettings]
Observer = Callable[[str, str, int, float], None]
Adjust = Callable[[_ClientSettings], _ClientSettings]


class LongLivedClient:
    def __init__(self, observer: Observer | None = None) -> None:
        self._observer = observer
        self.current: RegistryClient | None = None
        self._settings: _ClientSettings | None = None
        self._retired: list[RegistryClient] = []

    @property
    def settings(self) -> _ClientSettings | None:
        """The current client's settings (as adjusted), None before the first round."""
        return self._settings

    async def for_round(self, config: Config, rounds_running: int,
                        adjust: Adjust | None = None) -> tuple[RegistryClient, dict[str, str]]:
        """The client for a round of ``config``'s images (replaced only when the registry
        settings changed), and the registries whose credentials are unavailable.
        ``adjust`` changes the settings read before they are compared and used (a fleet
        divides the rates among its replicas)."""
        problems: dict[str, str] = {}
        # Credential helpers are programs: run them off the event loop.
        settings = await asyncio.to_thread(
            registry_settings, config, list(config.images), problems=problems
        )
        for host, problem in problems.items():
            log.warning("registry credentials unavailable", registry=host, error=problem)
        if adjust is not None:
            settings = adjust(settings)
        if self.current is None or settings != self._settings:
            if self.current is not None:
                log.info("registry settings changed; opening a new registry client")
                if rounds_running > 1:
                    self._retired.append(self.current)  # closed once those rounds end
                else:
                    await self.current.aclose()
            self.current = RegistryClient(settings[0], default=settings[1],
                                          observer=self._observer)
            self._settings = settings
        return self.current, problems

    async def round_ended(self, rounds_running: int) -> None:
        """Close the replaced clients once the round ending is the last that used them."""
        if self._retired and rounds_running <= 1:
            retired, self._retired = self._retired, []
            for old in retired:
                await old.aclose()

    async def aclose(self) -> None:
        for client in [*self._retired, *([self.current] if self.current else [])]:
            await client.aclose()
        self._retired, self.current = [], None
