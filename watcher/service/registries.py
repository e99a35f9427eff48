"""From the configuration to the registry client's settings: per host, its limits and its
credentials.

Credentials come from the config file's ``[[registries]]`` entry when it has any, else from
Docker's ``config.json`` (its ``auths`` entries and credential helpers). Both the one-off
round of ``watcher check`` and the daemon's long-lived client are set up here.
"""

from __future__ import annotations

from collections.abc import Iterable

from watcher.config import Config, RegistryConfig, TrackedImage, docker_credentials
from watcher.core.reference import DOCKER_HUB
from watcher.errors import ConfigError
from watcher.registry import DOCKER_HUB_CONCURRENCY, DOCKER_HUB_RATE, Credentials, RegistrySettings


def registry_settings(
    config: Config,
    images: Iterable[TrackedImage] = (),
    *,
    problems: dict[str, str] | None = None,
) -> tuple[dict[str, RegistrySettings], RegistrySettings]:
    """Per-host client settings: credentials from the config file, else from Docker's config.

    ``images`` adds the hosts of images checked beyond the configured ones. When Docker's
    config or a credential helper fails for a host, the error is raised; with ``problems``
    given, it is recorded there (host -> message) instead and the other hosts are set up.
    """
    default = RegistrySettings(host="*", max_concurrency=config.concurrency, timeout=config.timeout)
    settings: dict[str, RegistrySettings] = {}
    hosts = {r.host for r in config.registries}
    hosts |= {i.ref.registry for i in (*config.images, *images)}
    for host in sorted(hosts):
        registry = config.registry(host)
        credentials = _configured_credentials(registry) if registry else None
        if credentials is None:
            try:
                credentials = docker_credentials(host, config.docker_config)
            except ConfigError as exc:
                if problems is None:
                    raise
                problems[host] = exc.message
                continue
        if registry is None:
            if host == DOCKER_HUB:  # gentle with Docker Hub unless told otherwise
                settings[host] = RegistrySettings(
                    host=host, credentials=credentials, timeout=config.timeout,
                    max_concurrency=min(config.concurrency, DOCKER_HUB_CONCURRENCY),
                    rate=DOCKER_HUB_RATE)
            elif credentials is not None:
                settings[host] = RegistrySettings(
                    host=host,
                    credentials=credentials,
                    max_concurrency=config.concurrency,
                    timeout=config.timeout,
                )
            continue
        settings[host] = RegistrySettings(
            host=host,
            insecure=registry.insecure,
            credentials=credentials,
            max_concurrency=registry.max_concurrency,
            timeout=registry.timeout,
            retries=registry.retries,
            max_tag_pages=registry.max_tag_pages,
            max_tags=registry.max_tags,
            tls=registry.tls,
            proxy=registry.proxy,
            rate=registry.rate,
        )
    return settings, default


def _configured_credentials(registry: RegistryConfig) -> Credentials | None:
    if registry.token is not None:
        return Credentials(token=registry.token)
    if registry.username is not None:
        return Credentials(username=registry.username, password=registry.password)
    return None


__all__ = ["registry_settings"]
