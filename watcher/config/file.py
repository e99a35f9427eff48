"""The config file: TOML, validated once at load, every error naming file and key.

``[watcher]`` is read here; ``[[registries]]``, ``[[images]]`` and ``[notify]`` by their own
modules. Secrets may stay out of the file (see :mod:`watcher.config.reader`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watcher.config.http import HttpConfig, parse_http, parse_instance, parse_ping_url
from watcher.config.images import TrackedImage, parse_image
from watcher.config.notify import ChannelConfig, parse_notify
from watcher.config.paths import database_url, relative_to_config
from watcher.config.reader import Reader
from watcher.config.registries import (
    DEFAULTS,
    MAX_CONCURRENCY,
    MAX_TIMEOUT,
    RegistryConfig,
    parse_registry,
)
from watcher.config.replicas import REPLICA_KEYS, Replicas, parse_replicas
from watcher.config.schedule import (
    DEFAULT_TAGS_INTERVAL,
    first_check,
    parse_schedule,
    parse_tags_interval,
)
from watcher.config.sources import SourcesConfig, parse_sources
from watcher.core.schedule import Schedule
from watcher.errors import ConfigError

DEFAULT_DATABASE = "sqlite:///watcher.db"
DEFAULT_INTERVAL = 3600.0

DAY = 86400.0
MAX_INTERVAL = 365 * DAY

# Every key each table accepts; config.example.toml documents each of them.
WATCHER_KEYS = (
    "database",
    "interval",
    "concurrency",
    "timeout",
    "notify_on_first_check",
    "docker_config",
    "schedule",
    "timezone",
    "jitter",
    "tags_interval",
    "first_check",
    "instance",
    "ping_url",
    "ping_url_env",
    "ping_url_file",
    "keep_history",
    *REPLICA_KEYS,
)
DEFAULT_KEEP_HISTORY = 400 * DAY
MIN_KEEP_HISTORY = DAY
MAX_KEEP_HISTORY = 100 * 365 * DAY
KEEP_FOREVER = ("forever", "0")


@dataclass(frozen=True)
class Config:
    path: Path | None
    database: str = field(default=DEFAULT_DATABASE, repr=False)  # may hold a password
    interval: float = DEFAULT_INTERVAL  # the default schedule's interval, for messages
    schedule: Schedule = field(default_factory=Schedule)
    tags_interval: float = DEFAULT_TAGS_INTERVAL
    first_check: str = "immediate"  # or "scheduled": wait for the first scheduled time
    concurrency: int = DEFAULTS.max_concurrency
    timeout: float = DEFAULTS.timeout
    notify_on_first_check: bool = False
    docker_config: Path | None = None
    registries: tuple[RegistryConfig, ...] = ()
    images: tuple[TrackedImage, ...] = ()
    # [notify]: the channels (each with its route), the global soak window, the templates.
    channels: tuple[ChannelConfig, ...] = ()
    soak: float = 0.0
    templates: Path | None = None
    http: HttpConfig | None = None  # [http]: None when no listen address is set
    instance: str = "watcher"  # how this process is named in logs and metrics
    replicas: Replicas = field(default_factory=Replicas)  # [watcher] replicas, lease, ...
    ping_url: str | None = field(default=None, repr=False)  # fetched after each good round
    keep_history: float | None = DEFAULT_KEEP_HISTORY  # seconds; None: never prune
    sources: SourcesConfig = field(default_factory=SourcesConfig)  # [sources]: where to look

    def schedule_of(self, image: TrackedImage) -> Schedule:
        return image.schedule or self.schedule

    def tags_interval_of(self, image: TrackedImage) -> float:
        return self.tags_interval if image.tags_interval is None else image.tags_interval

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
    reader = Reader(path)
    reader.keys(raw, "", ("watcher", "registries", "images", "notify", "http", "sources"))
    section = reader.table(raw, "watcher")
    reader.keys(section, "watcher", WATCHER_KEYS)
    concurrency = reader.positive_int(
        section, "watcher.concurrency", DEFAULTS.max_concurrency, MAX_CONCURRENCY
    )
    timeout = reader.duration(section, "watcher.timeout", DEFAULTS.timeout, MAX_TIMEOUT)
    notify_default = reader.boolean(section, "watcher.notify_on_first_check", False)
    docker_config = reader.string(section, "watcher.docker_config")

    registries = tuple(
        parse_registry(reader, item, f"registries[{i}]", concurrency, timeout)
        for i, item in enumerate(reader.array_of_tables(raw, "registries"))
    )
    reader.unique([r.host for r in registries], "registries", "host")
    schedule = parse_schedule(reader, section, "watcher", None) or Schedule()
    images = tuple(
        parse_image(reader, item, f"images[{i}]", notify_default, schedule)
        for i, item in enumerate(reader.array_of_tables(raw, "images"))
    )
    reader.unique([str(i.ref) for i in images], "images", "ref")
    notify = parse_notify(reader, raw, path)
    database = database_url(
        reader.string(section, "watcher.database") or DEFAULT_DATABASE,
        key="watcher.database",
        path=path,
    )
    instance = parse_instance(reader, section)
    replicas = parse_replicas(reader, section, database, instance)
    sources = parse_sources(reader, raw, path)
    if replicas.shared and sources.engines:
        # Each replica would read its own host's engines and fight over one shared image set.
        raise reader.error("sources.engine", "cannot be used with [watcher] replicas = "
                           "\"shared\": engine sources are read by a single watcher on "
                           "the host (run one beside the fleet, on its own database)")
    if replicas.shared and sources.files:
        # Each replica would read its own checkout and fight over one shared image set.
        raise reader.error("sources.files", "cannot be used with [watcher] replicas = "
                           "\"shared\": files sources are read by a single watcher (run one "
                           "beside the fleet, on its own database, or list the images in "
                           "[[images]])")
    return Config(
        path=path,
        database=database,
        interval=schedule.interval or DEFAULT_INTERVAL,
        schedule=schedule,
        tags_interval=parse_tags_interval(reader, section, "watcher", None)
        or DEFAULT_TAGS_INTERVAL,
        first_check=first_check(reader, section),
        concurrency=concurrency,
        timeout=timeout,
        notify_on_first_check=notify_default,
        docker_config=relative_to_config(path, Path(docker_config)) if docker_config else None,
        registries=registries,
        images=images,
        channels=notify.channels,
        soak=notify.soak or 0.0,
        templates=notify.templates,
        http=parse_http(reader, raw),
        instance=instance,
        replicas=replicas,
        ping_url=parse_ping_url(reader, section),
        keep_history=parse_keep_history(reader, section),
        sources=sources,
    )


def parse_keep_history(reader: Reader, section: Mapping[str, Any]) -> float | None:
    """``[watcher] keep_history``: a duration of at least a day, or "forever" (or 0)."""
    key = "watcher.keep_history"
    value = section.get("keep_history")
    if value is None:
        return DEFAULT_KEEP_HISTORY
    if (isinstance(value, str) and value.strip().lower() in KEEP_FOREVER) or (
        isinstance(value, int) and not isinstance(value, bool) and value == 0
    ):
        return None
    seconds = reader.duration(section, key, DEFAULT_KEEP_HISTORY, MAX_KEEP_HISTORY)
    if seconds < MIN_KEEP_HISTORY:
        raise reader.error(key, f"must be at least 1d (or \"forever\" to keep everything), "
                                f"not {value!r}")
    return seconds
