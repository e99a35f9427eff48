"""watcher's configuration: the TOML file, and Docker's ``config.json`` for credentials.

- ``file``: ``load_config`` / ``parse_config``, ``Config`` and the ``[watcher]`` table;
- ``reader``: typed access to TOML values, durations, secrets (``X`` / ``X_env`` / ``X_file``);
- ``paths``: paths relative to the config file, database URLs checked before use;
- ``registries``: ``[[registries]]`` entries (``RegistryConfig``; defaults from the client's);
- ``images``: ``[[images]]`` entries (``TrackedImage``);
- ``notify``: ``[notify]`` and its channels (``ChannelConfig``: settings and route);
- ``sources``: ``[sources]`` and its kinds (``[[sources.files]]``: ``FilesSourceConfig``);
- ``docker``: credentials from Docker's ``config.json`` and its credential helpers.
- ``engines``: ``[[sources.engine]]`` entries (``EngineSourceConfig``), a kind of ``[sources]``
  (``sources``: ``SourcesConfig``, ``Config.sources``).

Callers import from here: ``from watcher.config import Config, load_config``.
"""

from watcher.config.docker import credentials_for, default_config_path, docker_credentials
from watcher.config.file import (
    DEFAULT_DATABASE,
    DEFAULT_INTERVAL,
    MAX_INTERVAL,
    WATCHER_KEYS,
    Config,
    load_config,
    parse_config,
)
from watcher.config.images import IMAGE_KEYS, TrackedImage
from watcher.config.notify import (
    NOTIFY_KEYS,
    AppriseSettings,
    ChannelConfig,
    CommandSettings,
    EmailSettings,
    WebhookSettings,
)
from watcher.config.paths import database_url, redact_url, relative_to_config
from watcher.config.reader import format_duration, parse_duration
from watcher.config.registries import (
    MAX_CONCURRENCY,
    MAX_RETRIES,
    MAX_TAG_PAGES,
    MAX_TAGS,
    MAX_TIMEOUT,
    REGISTRY_KEYS,
    RegistryConfig,
    registry_warnings,
)
from watcher.config.sources import FilesSourceConfig, SourcesConfig

__all__ = [
    "DEFAULT_DATABASE",
    "DEFAULT_INTERVAL",
    "IMAGE_KEYS",
    "MAX_CONCURRENCY",
    "MAX_INTERVAL",
    "MAX_RETRIES",
    "MAX_TAGS",
    "MAX_TAG_PAGES",
    "MAX_TIMEOUT",
    "NOTIFY_KEYS",
    "REGISTRY_KEYS",
    "WATCHER_KEYS",
    "AppriseSettings",
    "ChannelConfig",
    "CommandSettings",
    "Config",
    "EmailSettings",
    "FilesSourceConfig",
    "RegistryConfig",
    "SourcesConfig",
    "TrackedImage",
    "WebhookSettings",
    "credentials_for",
    "database_url",
    "default_config_path",
    "docker_credentials",
    "format_duration",
    "load_config",
    "parse_config",
    "parse_duration",
    "redact_url",
    "registry_warnings",
    "relative_to_config",
]
