"""The configuration file: TOML, validated once at load, every error naming file and key.

Secrets may stay out of the file: every secret key ``X`` also accepts ``X_env`` (the name of
an environment variable) and ``X_file`` (a path whose content, stripped, is the secret).
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watcher.config_paths import database_url, relative_to_config
from watcher.core.reference import (
    _HUB_ALIASES,
    DOCKER_HUB,
    ImageReference,
    is_loopback,
    parse_reference,
)
from watcher.core.tags import TagPolicy
from watcher.core.tags.policy import DEFAULT_POLICY
from watcher.errors import ConfigError, InvalidReference

DEFAULT_DATABASE = "sqlite:///watcher.db"
DEFAULT_INTERVAL = 3600.0

# Bounds on numbers, so a typo fails at load with the key named instead of deep in a round.
DAY = 86400.0
MAX_INTERVAL = 365 * DAY
MAX_TIMEOUT = 3600.0
MAX_CONCURRENCY = 1000
MAX_RETRIES = 20
MAX_TAG_PAGES = 10_000
MAX_TAGS = 10_000_000

_DURATION = re.compile(r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h|d)?", re.ASCII)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?")
_TAG_POLICY_KEYS = ("include", "exclude", "strategy", "range", "extract")

# Every key each table accepts; config.example.toml documents each of them.
WATCHER_KEYS = (
    "database",
    "interval",
    "concurrency",
    "timeout",
    "notify_on_first_check",
    "docker_config",
)
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
IMAGE_KEYS = (
    "ref",
    "platforms",
    "notify_on_first_check",
    "list_tags",
    "include",
    "exclude",
    "strategy",
    "range",
    "extract",
)


@dataclass(frozen=True)
class RegistryConfig:
    """How to talk to one registry host."""

    host: str
    insecure: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    max_concurrency: int = 8
    timeout: float = 10.0
    retries: int = 3
    max_tag_pages: int = 100
    max_tags: int = 50_000


@dataclass(frozen=True)
class TrackedImage:
    """One base image to watch, and how to judge its tags."""

    ref: ImageReference
    platforms: frozenset[str] | None = None
    notify_on_first_check: bool = False
    list_tags: bool = True
    tags: TagPolicy = DEFAULT_POLICY


@dataclass(frozen=True)
class Config:
    path: Path | None
    database: str = field(default=DEFAULT_DATABASE, repr=False)  # may hold a password
    interval: float = DEFAULT_INTERVAL
    concurrency: int = 8
    timeout: float = 10.0
    notify_on_first_check: bool = False
    docker_config: Path | None = None
    registries: tuple[RegistryConfig, ...] = ()
    images: tuple[TrackedImage, ...] = ()

    def registry(self, host: str) -> RegistryConfig | None:
        return next((r for r in self.registries if r.host == host), None)


def load_config(path: str | Path) -> Config:
    """Read and validate ``path``; raise :class:`ConfigError` naming the file and key."""
    path = Path(path)
    try:
        # utf-8-sig: a byte-order mark, as some Windows editors write, is not part of the TOML.
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason})", path=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(path)) from exc
    return parse_config(raw, path=path)


def parse_config(raw: Mapping[str, Any], *, path: Path | None = None) -> Config:
    """Validate an already-parsed TOML document."""
    reader = _Reader(path)
    reader.keys(raw, "", ("watcher", "registries", "images"))
    section = reader.table(raw, "watcher")
    reader.keys(section, "watcher", WATCHER_KEYS)
    concurrency = reader.positive_int(section, "watcher.concurrency", 8, MAX_CONCURRENCY)
    timeout = reader.duration(section, "watcher.timeout", 10.0, MAX_TIMEOUT)
    notify_default = reader.boolean(section, "watcher.notify_on_first_check", False)
    docker_config = reader.string(section, "watcher.docker_config")

    registries = tuple(
        _registry(reader, item, f"registries[{i}]", concurrency, timeout)
        for i, item in enumerate(reader.array_of_tables(raw, "registries"))
    )
    _unique(reader, [r.host for r in registries], "registries", "host")
    images = tuple(
        _image(reader, item, f"images[{i}]", notify_default)
        for i, item in enumerate(reader.array_of_tables(raw, "images"))
    )
    _unique(reader, [str(i.ref) for i in images], "images", "ref")
    return Config(
        path=path,
        database=database_url(
            reader.string(section, "watcher.database") or DEFAULT_DATABASE,
            key="watcher.database",
            path=path,
        ),
        interval=reader.duration(section, "watcher.interval", DEFAULT_INTERVAL, MAX_INTERVAL),
        concurrency=concurrency,
        timeout=timeout,
        notify_on_first_check=notify_default,
        docker_config=relative_to_config(path, Path(docker_config)) if docker_config else None,
        registries=registries,
        images=images,
    )


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``1h``, ``1.5d``, ``250ms`` -> seconds; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as '90s', '15m', '1h' or '1d'")
    return float(match["value"]) * _UNITS[match["unit"]]


def format_duration(seconds: float) -> str:
    """The largest whole unit: ``365d``, ``1h``, ``90s``."""
    for unit in ("d", "h", "m", "s"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


def _registry(
    reader: _Reader, item: Mapping[str, Any], where: str, concurrency: int, timeout: float
) -> RegistryConfig:
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
        host=_normalize_host(host),
        # Loopback registries speak plain HTTP unless told otherwise, as with Docker.
        insecure=reader.boolean(item, f"{where}.insecure", is_loopback(host)),
        username=username,
        password=password,
        token=token,
        max_concurrency=reader.positive_int(
            item, f"{where}.max_concurrency", concurrency, MAX_CONCURRENCY
        ),
        timeout=reader.duration(item, f"{where}.timeout", timeout, MAX_TIMEOUT),
        retries=reader.non_negative_int(item, f"{where}.retries", 3, MAX_RETRIES),
        max_tag_pages=reader.positive_int(item, f"{where}.max_tag_pages", 100, MAX_TAG_PAGES),
        max_tags=reader.positive_int(item, f"{where}.max_tags", 50_000, MAX_TAGS),
    )


def _normalize_host(host: str) -> str:
    # The same aliases as image references, or credentials for an alias would never apply.
    # Lowercased as image references are: host names are case-insensitive.
    host = host.lower()
    return DOCKER_HUB if host in _HUB_ALIASES else host


def _image(reader: _Reader, item: Mapping[str, Any], where: str, notify: bool) -> TrackedImage:
    reader.keys(item, where, IMAGE_KEYS)
    text = reader.string(item, f"{where}.ref")
    if not text:
        raise reader.error(f"{where}.ref", "is required (for example 'python:3.12-slim')")
    try:
        ref = parse_reference(text)
    except InvalidReference as exc:
        raise reader.error(f"{where}.ref", exc.message) from exc
    platforms = reader.string_list(item, f"{where}.platforms")
    for platform in platforms or ():
        if not _PLATFORM.fullmatch(platform):
            raise reader.error(
                f"{where}.platforms",
                f"{platform!r} is not os/arch[/variant], e.g. 'linux/arm64/v8'",
            )
    tags = _tag_policy(reader, item, where)
    return TrackedImage(
        ref=ref,
        platforms=frozenset(platforms) if platforms else None,
        notify_on_first_check=reader.boolean(item, f"{where}.notify_on_first_check", notify),
        list_tags=reader.boolean(item, f"{where}.list_tags", ref.digest is None),
        tags=tags,
    )


def _tag_policy(reader: _Reader, item: Mapping[str, Any], where: str) -> TagPolicy:
    """The image's tag policy; TagPolicy itself checks the values (its errors start 'key: ')."""
    values = {key: reader.string(item, f"{where}.{key}") for key in _TAG_POLICY_KEYS}
    try:
        return TagPolicy.from_mapping(values)
    except ValueError as exc:
        key, _, message = str(exc).partition(": ")
        if key not in _TAG_POLICY_KEYS:
            raise reader.error(where, str(exc)) from None
        raise reader.error(f"{where}.{key}", message) from None


def _unique(reader: _Reader, values: list[str], section: str, key: str) -> None:
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        if value in seen:
            raise reader.error(
                f"{section}[{index}].{key}",
                f"{value!r} is listed twice (also {section}[{seen[value]}])",
            )
        seen[value] = index


class _Reader:
    """Typed access to TOML values; every error names the file and the dotted key."""

    def __init__(self, path: Path | None) -> None:
        self.path = str(path) if path else None

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, path=self.path, key=key)

    def keys(self, table: Mapping[str, Any], where: str, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                dotted = f"{where}.{key}" if where else key
                raise self.error(dotted, f"unknown key{hint}")

    def _get(self, table: Mapping[str, Any], key: str) -> Any:
        return table.get(key.rsplit(".", 1)[-1])

    def table(self, table: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = self._get(table, key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table ([{key}]), not {_kind(value)}")
        return value

    def array_of_tables(self, table: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = self._get(table, key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(key, f"must be an array of tables ([[{key}]])")
        return value

    def string(self, table: Mapping[str, Any], key: str) -> str | None:
        value = self._get(table, key)
        if value is not None and not isinstance(value, str):
            raise self.error(key, f"must be a string, not {_kind(value)}")
        return value

    def string_list(self, table: Mapping[str, Any], key: str) -> list[str] | None:
        value = self._get(table, key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "must be a list of strings")
        return value

    def boolean(self, table: Mapping[str, Any], key: str, default: bool) -> bool:
        value = self._get(table, key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {_kind(value)}")
        return value

    def positive_int(self, table: Mapping[str, Any], key: str, default: int, most: int) -> int:
        value = self.non_negative_int(table, key, default, most)
        if value == 0:
            raise self.error(key, "must be at least 1")
        return value

    def non_negative_int(
        self, table: Mapping[str, Any], key: str, default: int, most: int
    ) -> int:
        value = self._get(table, key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(key, f"must be a whole number >= 0, not {value!r}")
        if value > most:
            raise self.error(key, f"must be at most {most:_}, not {value:_}".replace("_", ","))
        return value

    def duration(
        self, table: Mapping[str, Any], key: str, default: float, most: float
    ) -> float:
        value = self._get(table, key)
        if value is None:
            return default
        if isinstance(value, bool):
            raise self.error(key, "must be a duration such as 30 or '15m'")
        if isinstance(value, int | float):
            seconds = float(value)
        elif isinstance(value, str):
            try:
                seconds = parse_duration(value)
            except ValueError as exc:
                raise self.error(key, str(exc)) from None
        else:
            raise self.error(key, f"must be a duration such as 30 or '15m', not {_kind(value)}")
        if not math.isfinite(seconds):
            raise self.error(key, f"must be a duration such as 30 or '15m', not {value}")
        if seconds <= 0:
            raise self.error(key, "must be greater than zero")
        if seconds > most:
            raise self.error(key, f"must be at most {format_duration(most)}, not {value!r}")
        return seconds

    def secret(self, table: Mapping[str, Any], where: str, name: str) -> str | None:
        """``name``, ``name_env`` or ``name_file``: at most one of them."""
        given = [k for k in (name, f"{name}_env", f"{name}_file") if k in table]
        if len(given) > 1:
            raise self.error(f"{where}.{given[1]}", f"set only one of {', '.join(given)}")
        if not given:
            return None
        key = given[0]
        dotted = f"{where}.{key}"
        value = self.string(table, dotted)
        assert value is not None
        if key.endswith("_env"):
            if value not in os.environ:
                raise self.error(dotted, f"environment variable {value} is not set")
            return os.environ[value]
        if key.endswith("_file"):
            secret_path = relative_to_config(Path(self.path) if self.path else None, Path(value))
            try:
                return secret_path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise self.error(dotted, f"cannot read {secret_path}: {exc.strerror}") from exc
            except UnicodeDecodeError as exc:
                raise self.error(dotted, f"cannot read {secret_path}: not UTF-8 text") from exc
        return value


def _kind(value: object) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
