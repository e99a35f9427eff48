"""The registry client: asks container registries what a tag points to, and nothing else.

    from watcher.registry import RegistryClient, RegistrySettings, Credentials

    async with RegistryClient({"ghcr.io": RegistrySettings(host="ghcr.io")}) as client:
        observation = await client.resolve(ref, known=previous)

See docs/registry.md.
"""

from watcher.registry.auth import Challenge, parse_challenges
from watcher.registry.client import RegistryClient
from watcher.registry.headers import RateLimit
from watcher.registry.settings import Credentials, RegistrySettings

__all__ = [
    "Challenge",
    "Credentials",
    "RateLimit",
    "RegistryClient",
    "RegistrySettings",
    "parse_challenges",
]
