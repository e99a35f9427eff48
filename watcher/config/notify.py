"""``[notify]``: where notices go (webhooks, email, commands, Apprise) and when.

Each channel entry gives what the service needs to build the channel (``watcher.notify``) and
its :class:`~watcher.core.delivery.Route`: the event kinds and images it subscribes to, its
soak window and how long a failing delivery is retried. Names are unique; a missing name is
derived (``webhook:<host>``, ``email``, ``command:<program>``, ``apprise:<scheme>``).
Secrets (a webhook's ``secret``, an SMTP ``password``) accept ``X_env`` and ``X_file`` like
every secret, and are never shown in a repr or an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from watcher.config.paths import relative_to_config
from watcher.config.reader import Reader
from watcher.core.delivery import DEFAULT_RETRY_FOR, Route
from watcher.core.events import EventKind
from watcher.core.explain import CLASSES, REBASE

CHANGE_CLASSES = (*CLASSES, REBASE)  # what [[notify.*]] classes may name

MAX_SOAK = 7 * 86400.0
MAX_RETRY_FOR = 30 * 86400.0
MAX_CHANNEL_TIMEOUT = 86400.0
MAX_NAME = 128
_ROUTE_KEYS = ("name", "events", "images", "classes", "grouped", "soak", "retry_for")

NOTIFY_KEYS = ("soak", "templates", "webhook", "email", "command", "apprise")
WEBHOOK_KEYS = (*_ROUTE_KEYS, "url", "secret", "secret_env", "secret_file", "headers",
                "source", "timeout")
EMAIL_KEYS = (*_ROUTE_KEYS, "host", "port", "starttls", "tls", "username", "password",
              "password_env", "password_file", "from", "to", "timeout")
COMMAND_KEYS = (*_ROUTE_KEYS, "argv", "timeout", "env", "cwd")
APPRISE_KEYS = (*_ROUTE_KEYS, "url")


@dataclass(frozen=True)
class WebhookSettings:
    url: str = field(repr=False)  # may carry a token in its query
    secret: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    source: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class EmailSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0


@dataclass(frozen=True)
class CommandSettings:
    argv: tuple[str, ...]
    timeout: float = 600.0
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    cwd: str | None = None


@dataclass(frozen=True)
class AppriseSettings:
    url: str = field(repr=False)  # Apprise URLs carry tokens


ChannelSettings = WebhookSettings | EmailSettings | CommandSettings | AppriseSettings


@dataclass(frozen=True)
class ChannelConfig:
    """One configured channel: what builds it, and its route (``route.channel`` is its name)."""

    kind: Literal["webhook", "email", "command", "apprise"]
    route: Route
    settings: ChannelSettings

    @property
    def name(self) -> str:
        return self.route.channel


@dataclass(frozen=True)
class NotifyConfig:
    soak: float = 0.0
    templates: Path | None = None
    channels: tuple[ChannelConfig, ...] = ()


def parse_notify(reader: Reader, raw: Mapping[str, Any], path: Path | None) -> NotifyConfig:
    """The ``[notify]`` table with its channel entries."""
    section = reader.table(raw, "notify")
    reader.keys(section, "notify", NOTIFY_KEYS)
    soak = soak_window(reader, section, "notify.soak", 0.0) or 0.0
    templates_text = reader.string(section, "notify.templates")
    templates = relative_to_config(path, Path(templates_text)) if templates_text else None
    if templates is not None and not templates.is_dir():
        raise reader.error("notify.templates", f"{str(templates)!r} is not a directory")
    channels: list[tuple[str, ChannelConfig]] = []
    for i, item in enumerate(reader.array_of_tables(section, "notify.webhook")):
        channels.append((f"notify.webhook[{i}]", _webhook(reader, item, f"notify.webhook[{i}]")))
    email = section.get("email")
    emails = [email] if isinstance(email, dict) else reader.array_of_tables(section,
                                                                            "notify.email")
    for i, item in enumerate(emails):
        where = "notify.email" if isinstance(email, dict) else f"notify.email[{i}]"
        channels.append((where, _email(reader, item, where)))
    for i, item in enumerate(reader.array_of_tables(section, "notify.command")):
        channels.append((f"notify.command[{i}]", _command(reader, item, f"notify.command[{i}]")))
    for i, item in enumerate(reader.array_of_tables(section, "notify.apprise")):
        channels.append((f"notify.apprise[{i}]", _apprise(reader, item, f"notify.apprise[{i}]")))
    seen: dict[str, str] = {}
    for where, channel in channels:
        if channel.name in seen:
            raise reader.error(f"{where}.name", f"channel name {channel.name!r} is used twice "
                               f"(also {seen[channel.name]}); give each channel its own name")
        seen[channel.name] = where
    return NotifyConfig(soak=soak, templates=templates,
                        channels=tuple(channel for _, channel in channels))


def soak_window(reader: Reader, table: Mapping[str, Any], key: str,
                default: float | None) -> float | None:
    """A soak window: a duration, or 0 for none."""
    value = table.get(key.rsplit(".", 1)[-1])
    if value is None:
        return default
    if value == 0 or value == "0":
        return 0.0
    return reader.duration(table, key, 0.0, MAX_SOAK)


def _route(reader: Reader, item: Mapping[str, Any], where: str, name: str,
           grouped_default: bool = True) -> Route:
    given = reader.string(item, f"{where}.name")
    if given is not None and not given.strip():
        raise reader.error(f"{where}.name", "must not be empty")
    name = given or name
    if len(name) > MAX_NAME:
        raise reader.error(f"{where}.name", f"must be at most {MAX_NAME} characters")
    kinds_text = reader.string_list(item, f"{where}.events")
    kinds: frozenset[EventKind] | None = None
    if kinds_text is not None:
        known = [kind.value for kind in EventKind]
        for text in kinds_text:
            if text not in known:
                raise reader.error(f"{where}.events", f"{text!r} is not an event kind; "
                                   f"use {', '.join(known)}")
        if not kinds_text:
            raise reader.error(f"{where}.events", "is empty: leave it out for every kind")
        kinds = frozenset(EventKind(text) for text in kinds_text)
    images = tuple(reader.string_list(item, f"{where}.images") or ())
    classes_text = reader.string_list(item, f"{where}.classes")
    classes: frozenset[str] | None = None
    if classes_text is not None:
        for text in classes_text:
            if text not in CHANGE_CLASSES:
                raise reader.error(f"{where}.classes", f"{text!r} is not a change class; "
                                   f"use {', '.join(CHANGE_CLASSES)}")
        if not classes_text:
            raise reader.error(f"{where}.classes", "is empty: leave it out for every class")
        classes = frozenset(classes_text)
    return Route(
        channel=name,
        kinds=kinds,
        images=images,
        soak=soak_window(reader, item, f"{where}.soak", None),
        retry_for=reader.duration(item, f"{where}.retry_for", DEFAULT_RETRY_FOR, MAX_RETRY_FOR),
        grouped=reader.boolean(item, f"{where}.grouped", grouped_default),
        classes=classes,
    )


def _http_url(reader: Reader, item: Mapping[str, Any], key: str) -> str:
    url = reader.string(item, key)
    if not url:
        raise reader.error(key, "is required (for example 'https://ci.example/hooks/rebuild')")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        raise reader.error(key, "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        shown = f"{parts.scheme}://" if parts.scheme else "it"
        raise reader.error(key, f"must be an http:// or https:// URL with a host ({shown} is "
                           "not)")
    return url


def _webhook(reader: Reader, item: Mapping[str, Any], where: str) -> ChannelConfig:
    reader.keys(item, where, WEBHOOK_KEYS)
    url = _http_url(reader, item, f"{where}.url")
    headers = reader.table(item, f"{where}.headers")
    for key, value in headers.items():
        if not isinstance(value, str):
            raise reader.error(f"{where}.headers.{key}", "must be a string")
    settings = WebhookSettings(
        url=url,
        secret=reader.secret(item, where, "secret"),
        headers=dict(headers),
        source=reader.string(item, f"{where}.source"),
        timeout=reader.duration(item, f"{where}.timeout", 30.0, MAX_CHANNEL_TIMEOUT),
    )
    host = urlsplit(url).hostname or "?"
    return ChannelConfig("webhook", _route(reader, item, where, f"webhook:{host}"), settings)


def _email(reader: Reader, item: Mapping[str, Any], where: str) -> ChannelConfig:
    reader.keys(item, where, EMAIL_KEYS)
    host = reader.string(item, f"{where}.host")
    if not host:
        raise reader.error(f"{where}.host", "is required (the SMTP server)")
    tls = reader.boolean(item, f"{where}.tls", False)
    starttls = reader.boolean(item, f"{where}.starttls", not tls)
    if tls and starttls:
        raise reader.error(f"{where}.starttls", "set either tls (implicit TLS, port 465) or "
                           "starttls (port 587), not both")
    security: Literal["starttls", "tls", "none"] = (
        "tls" if tls else "starttls" if starttls else "none")
    port = reader.positive_int(item, f"{where}.port", 465 if tls else 587, 65535)
    sender = reader.string(item, f"{where}.from")
    if not sender or "@" not in sender:
        raise reader.error(f"{where}.from", "is required: the sender's address")
    recipients = reader.string_list(item, f"{where}.to") or []
    if not recipients:
        raise reader.error(f"{where}.to", "is required: a list of at least one address")
    for address in recipients:
        if "@" not in address:
            raise reader.error(f"{where}.to", f"{address!r} is not an email address")
    username = reader.string(item, f"{where}.username")
    password = reader.secret(item, where, "password")
    if (username is None) != (password is None):
        missing = "password (or password_env/password_file)" if password is None else "username"
        raise reader.error(where, f"a login needs both username and password; {missing} is "
                           "missing")
    if username is not None and security == "none":
        raise reader.error(f"{where}.starttls", "a password is never sent unencrypted: set "
                           "starttls or tls")
    settings = EmailSettings(
        host=host, port=port, sender=sender, recipients=tuple(recipients), security=security,
        username=username, password=password,
        timeout=reader.duration(item, f"{where}.timeout", 30.0, MAX_CHANNEL_TIMEOUT),
    )
    return ChannelConfig("email", _route(reader, item, where, "email"), settings)


def _command(reader: Reader, item: Mapping[str, Any], where: str) -> ChannelConfig:
    reader.keys(item, where, COMMAND_KEYS)
    argv = reader.string_list(item, f"{where}.argv")
    if not argv or not argv[0]:
        raise reader.error(f"{where}.argv", "is required: the program and its arguments, "
                           "e.g. ['/usr/local/bin/trigger-rebuild']")
    env = reader.table(item, f"{where}.env")
    for key, value in env.items():
        if not isinstance(value, str):
            raise reader.error(f"{where}.env.{key}", "must be a string")
    settings = CommandSettings(
        argv=tuple(argv),
        timeout=reader.duration(item, f"{where}.timeout", 600.0, MAX_CHANNEL_TIMEOUT),
        env=dict(env),
        cwd=reader.string(item, f"{where}.cwd"),
    )
    name = f"command:{os.path.basename(argv[0])}"
    return ChannelConfig("command", _route(reader, item, where, name), settings)


def _apprise(reader: Reader, item: Mapping[str, Any], where: str) -> ChannelConfig:
    reader.keys(item, where, APPRISE_KEYS)
    url = reader.string(item, f"{where}.url")
    if not url or "://" not in url:
        raise reader.error(f"{where}.url", "is required: an Apprise URL such as "
                           "'ntfy://ntfy.example/topic'")
    scheme = url.partition("://")[0]
    return ChannelConfig("apprise", _route(reader, item, where, f"apprise:{scheme}"),
                         AppriseSettings(url=url))


__all__ = [
    "APPRISE_KEYS",
    "COMMAND_KEYS",
    "EMAIL_KEYS",
    "NOTIFY_KEYS",
    "WEBHOOK_KEYS",
    "AppriseSettings",
    "ChannelConfig",
    "ChannelSettings",
    "CommandSettings",
    "EmailSettings",
    "NotifyConfig",
    "WebhookSettings",
    "parse_notify",
    "soak_window",
]
