"""The secrets a config holds, so that the log can hide them wherever they turn up."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from watcher.config.file import Config
from watcher.config.notify import AppriseSettings, EmailSettings, WebhookSettings

# Shorter values (a one-letter password in a test config) would hide ordinary words.
MIN_SECRET = 4


def url_password(url: str | None) -> str | None:
    """The password in ``scheme://user:password@host/...``, decoded; None without one."""
    if not url or "://" not in url:
        return None
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def config_secrets(config: Config) -> set[str]:
    """Passwords, tokens, secret URLs (the dead-man ping, webhooks, Apprise) of ``config``."""
    found: set[str | None] = {url_password(config.database), config.ping_url}
    for registry in config.registries:
        found |= {registry.password, registry.token, url_password(registry.proxy)}
    if config.http is not None:
        found |= {config.http.hook_token, config.http.auth_token}
    for channel in config.channels:
        settings = channel.settings
        if isinstance(settings, WebhookSettings):
            found |= {settings.url, settings.secret, *settings.headers.values()}
        elif isinstance(settings, EmailSettings):
            found.add(settings.password)
        elif isinstance(settings, AppriseSettings):
            found.add(settings.url)
    return {value for value in found if value and len(value) >= MIN_SECRET}


__all__ = ["config_secrets", "url_password"]
