"""The configured notification channels, built: each ``[[channels]]`` entry becomes the
``watcher.notify`` channel that sends its messages. One that cannot be set up is reported
with the reason, and its deliveries wait until it can."""

from __future__ import annotations

from watcher.config import (
    AppriseSettings,
    ChannelConfig,
    CommandSettings,
    Config,
    EmailSettings,
    WebhookSettings,
)
from watcher.core.delivery import Route
from watcher.errors import WatcherError
from watcher.notify import Channel
from watcher.notify.command import CommandChannel
from watcher.notify.email import EmailChannel, Security
from watcher.notify.webhook import WebhookChannel
from watcher.notify.wording import Templates


def routes(config: Config) -> tuple[Route, ...]:
    return tuple(channel.route for channel in config.channels)


def build_channels(config: Config) -> tuple[dict[str, Channel], dict[str, str]]:
    """The configured channels, by name, and those that cannot be set up, with the reason
    (their deliveries wait until they can)."""
    templates = Templates(config.templates) if config.templates else Templates()
    built: dict[str, Channel] = {}
    problems: dict[str, str] = {}
    for channel in config.channels:
        try:
            built[channel.name] = build_channel(channel, templates)
        except WatcherError as exc:
            problems[channel.name] = exc.message
    return built, problems


def build_channel(channel: ChannelConfig, templates: Templates) -> Channel:
    settings = channel.settings
    name, grouped = channel.name, channel.route.grouped
    if isinstance(settings, WebhookSettings):
        return WebhookChannel(settings.url, name=name, secret=settings.secret,
                              headers=settings.headers, source=settings.source,
                              grouped=grouped, timeout=settings.timeout)
    if isinstance(settings, EmailSettings):
        return EmailChannel(host=settings.host, port=settings.port, sender=settings.sender,
                            recipients=settings.recipients, security=Security(settings.security),
                            username=settings.username, password=settings.password,
                            timeout=settings.timeout, name=name, templates=templates)
    if isinstance(settings, CommandSettings):
        return CommandChannel(settings.argv, name=name, timeout=settings.timeout,
                              grouped=grouped, env=settings.env, cwd=settings.cwd)
    assert isinstance(settings, AppriseSettings)
    from watcher.notify.apprise_channel import AppriseChannel  # the optional extra

    return AppriseChannel(settings.url, name=name, grouped=grouped, templates=templates)


__all__ = ["build_channel", "build_channels", "routes"]
