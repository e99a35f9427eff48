"""``[[registries]]``: how to talk to one registry host (credentials, limits, plain HTTP).

The defaults are the registry client's own (:class:`~watcher.registry.RegistrySettings`):
they are written there once, and a registry entry or ``[watcher]`` key only overrides them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from watcher.config.reader import Reader
from watcher.core.reference import canonical_host, is_loopback
from watcher.registry import RegistrySettings

DEFAULTS = RegistrySettings()

# Bounds on numbers, so a typo fails at load with the key named instead of deep in a round.
MAX_TIMEOUT = 3600.0
MAX_CONCURRENCY = 1000
MAX_RETRIES = 20
MAX_TAG_PAGES = 10_000
MAX_TAGS = 10_000_000

REGISTRY_KEYS = (
    "host",
    "insecure",
    "username",
    "username_env",
    "username_file",
    "password",
    "password_env",
    "password_file",
    "token",
    "token_env",
    "token_file",
    "max_concurrency",
    "timeout",
    "retries",
    "max_tag_pages",
    "max_tags",
)


@dataclass(frozen=True)
class RegistryConfig:
    """How to talk to one registry host."""

    host: str
    insecure: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    max_concurrency: int = DEFAULTS.max_concurrency
    timeout: float = DEFAULTS.timeout
    retries: int = DEFAULTS.retries
    max_tag_pages: int = DEFAULTS.max_tag_pages
    max_tags: int = DEFAULTS.max_tags


def parse_registry(
    reader: Reader, item: Mapping[str, Any], where: str, concurrency: int, timeout: float
) -> RegistryConfig:
    """One ``[[registries]]`` entry; ``concurrency`` and ``timeout`` are ``[watcher]``'s."""
    reader.keys(item, where, REGISTRY_KEYS)
    host = reader.string(item, f"{where}.host")
    if not host:
        raise reader.error(
            f"{where}.host", "is required (for example 'ghcr.io' or 'localhost:5000')"
        )
    if "/" in host or "://" in host:
        raise reader.error(
            f"{where}.host", f"{host!r} must be a bare host[:port], without scheme or path"
        )
    username = reader.secret(item, where, "username")
    password = reader.secret(item, where, "password")
    token = reader.secret(item, where, "token")
    if password is not None and username is None:
        raise reader.error(f"{where}.password", "is set but username is not")
    if token is not None and password is not None:
        raise reader.error(
            f"{where}.token", "use either a token or a username and password, not both"
        )
    return RegistryConfig(
        # The same spelling as image references, or credentials for an alias never apply.
        host=canonical_host(host),
        # Loopback registries speak plain HTTP unless told otherwise, as with Docker.
        insecure=reader.boolean(item, f"{where}.insecure", is_loopback(host)),
        username=username,
        password=password,
        token=token,
        max_concurrency=reader.positive_int(
            item, f"{where}.max_concurrency", concurrency, MAX_CONCURRENCY
        ),
        timeout=reader.duration(item, f"{where}.timeout", timeout, MAX_TIMEOUT),
        retries=reader.non_negative_int(item, f"{where}.retries", DEFAULTS.retries, MAX_RETRIES),
        max_tag_pages=reader.positive_int(
            item, f"{where}.max_tag_pages", DEFAULTS.max_tag_pages, MAX_TAG_PAGES
        ),
        max_tags=reader.positive_int(item, f"{where}.max_tags", DEFAULTS.max_tags, MAX_TAGS),
    )
