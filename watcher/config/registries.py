"""``[[registries]]``: how to talk to one registry host (credentials, limits, plain HTTP,
TLS, proxy).

TLS files are read here, at load: a missing or invalid ``ca_file``, ``client_cert`` or
``client_key`` fails at start, naming the file and the key, not at the first request.

The defaults are the registry client's own (:class:`~watcher.registry.RegistrySettings`):
they are written there once, and a registry entry or ``[watcher]`` key only overrides them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watcher.config.paths import relative_to_config
from watcher.config.reader import Reader, parse_duration
from watcher.core.reference import DOCKER_HUB, canonical_host, is_loopback
from watcher.errors import ConfigError
from watcher.registry import DOCKER_HUB_CONCURRENCY, DOCKER_HUB_RATE, Rate, RegistrySettings
from watcher.registry.proxies import check_proxy_url
from watcher.registry.tls import TlsError, TlsSettings, load_tls

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
    "ca_file",
    "client_cert",
    "client_key",
    "tls_verify",
    "proxy",
    "rate",
)
TLS_KEYS = ("ca_file", "client_cert", "client_key", "tls_verify")


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
    tls: TlsSettings | None = None
    proxy: str | None = field(default=None, repr=False)  # may hold credentials
    rate: Rate | None = None  # at most this many requests per period

    @property
    def warning(self) -> str | None:
        """What an operator must know about this entry (certificates not verified)."""
        if self.tls is not None and not self.tls.verify:
            return (f"registry {self.host}: TLS certificates are not verified "
                    "(tls_verify = false)")
        return None


def registry_warnings(registries: Iterable[RegistryConfig]) -> list[str]:
    """One line per registry entry that weakens security, for ``watcher status``."""
    return [r.warning for r in registries if r.warning is not None]


def _tls(reader: Reader, item: Mapping[str, Any], where: str) -> TlsSettings | None:
    if not any(key in item for key in TLS_KEYS):
        return None
    base = Path(reader.path) if reader.path else None
    paths = {}
    for key in ("ca_file", "client_cert", "client_key"):
        value = reader.string(item, f"{where}.{key}")
        if value is not None:
            if not value.strip():
                raise reader.error(f"{where}.{key}", "is empty")
            paths[key] = str(relative_to_config(base, Path(value)))
    try:
        return load_tls(**paths, verify=reader.boolean(item, f"{where}.tls_verify", True))
    except TlsError as exc:
        raise reader.error(f"{where}.{exc.key}", exc.detail) from None


def _proxy(reader: Reader, item: Mapping[str, Any], where: str) -> str | None:
    value = reader.string(item, f"{where}.proxy")
    if value is None:
        return None
    try:
        return check_proxy_url(value, key=f"{where}.proxy")
    except ConfigError as exc:
        raise reader.error(f"{where}.proxy", exc.message.partition(": ")[2]) from None


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
    tls = _tls(reader, item, where)
    # Loopback registries speak plain HTTP unless told otherwise (as with Docker), or TLS
    # settings say they speak HTTPS.
    insecure = reader.boolean(item, f"{where}.insecure", tls is None and is_loopback(host))
    if insecure and tls is not None:
        key = next(k for k in TLS_KEYS if k in item)
        raise reader.error(f"{where}.{key}", "applies to HTTPS only, and insecure = true "
                           "speaks plain HTTP to this registry; remove one of them")
    return RegistryConfig(
        # The same spelling as image references, or credentials for an alias never apply.
        host=canonical_host(host),
        insecure=insecure,
        tls=tls,
        proxy=_proxy(reader, item, where),
        username=username,
        password=password,
        token=token,
        max_concurrency=reader.positive_int(
            item, f"{where}.max_concurrency",
            DOCKER_HUB_CONCURRENCY if canonical_host(host) == DOCKER_HUB else concurrency,
            MAX_CONCURRENCY,
        ),
        timeout=reader.duration(item, f"{where}.timeout", timeout, MAX_TIMEOUT),
        retries=reader.non_negative_int(item, f"{where}.retries", DEFAULTS.retries, MAX_RETRIES),
        max_tag_pages=reader.positive_int(
            item, f"{where}.max_tag_pages", DEFAULTS.max_tag_pages, MAX_TAG_PAGES
        ),
        max_tags=reader.positive_int(item, f"{where}.max_tags", DEFAULTS.max_tags, MAX_TAGS),
        rate=_rate(reader, item, where, canonical_host(host)),
    )


_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*(.+?)\s*")
_PERIODS = {"s": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0,
            "hour": 3600.0}


def _rate(reader: Reader, item: Mapping[str, Any], where: str, host: str) -> Rate | None:
    """``rate = "10/s"``, ``"600/m"``, ``"100/6h"``: at most N requests per period."""
    text = reader.string(item, f"{where}.rate")
    if text is None:
        return DOCKER_HUB_RATE if host == DOCKER_HUB else None
    if text.strip().lower() in ("none", "off", "unlimited"):
        return None
    match = _RATE.fullmatch(text)
    period: float | None = None
    if match:
        unit = match[2].lower()
        period = _PERIODS.get(unit)
        if period is None:
            try:
                period = parse_duration(unit)
            except ValueError:
                period = None
    if not match or period is None or period <= 0 or float(match[1]) <= 0:
        raise reader.error(f"{where}.rate", f"{text!r} is not a rate such as '10/s', "
                           "'600/m' or '100/6h' (or 'off')")
    return Rate(float(match[1]), period)
