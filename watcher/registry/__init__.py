"""The registry client: asks container registries what a tag points to, and nothing else.

    from watcher.registry import RegistryClient, RegistrySettings, Credentials

    async with RegistryClient({"ghcr.io": RegistrySettings(host="ghcr.io")}) as client:
        observation = await client.resolve(ref, known=previous)

See docs/registry.md.

The settings are imported at once; the client (and httpx, aiohttp under it) only when first
used, so reading a config file or printing ``watcher status`` never loads an HTTP stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from watcher.registry.settings import (
    DOCKER_HUB_CONCURRENCY,
    DOCKER_HUB_RATE,
    Credentials,
    Rate,
    RegistrySettings,
)

if TYPE_CHECKING:
    from watcher.registry.auth import Challenge, parse_challenges
    from watcher.registry.client import RegistryClient
    from watcher.registry.headers import RateLimit

_LAZY = {
    "Challenge": "watcher.registry.auth",
    "parse_challenges": "watcher.registry.auth",
    "RegistryClient": "watcher.registry.client",
    "RateLimit": "watcher.registry.headers",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

__all__ = [
    "DOCKER_HUB_CONCURRENCY",
    "DOCKER_HUB_RATE",
    "Challenge",
    "Credentials",
    "Rate",
    "RateLimit",
    "RegistryClient",
    "RegistrySettings",
    "parse_challenges",
]
