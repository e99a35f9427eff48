"""``[http]``: the daemon's HTTP server (health, metrics, push hooks); off unless ``listen``
is set. Also ``[watcher] instance`` and ``ping_url``, which name and watch the process."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from watcher.config.http_auth import AUTH_KEYS, read_auth_token
from watcher.config.reader import Reader

HTTP_KEYS = ("listen", "hook_token", "hook_token_env", "hook_token_file", *AUTH_KEYS)
MIN_TOKEN_LENGTH = 16
MAX_INSTANCE_LENGTH = 63


@dataclass(frozen=True)
class HttpConfig:
    host: str
    port: int
    hook_token: str | None = field(default=None, repr=False)
    auth_token: str | None = field(default=None, repr=False)  # the page and its API ask it

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_http(reader: Reader, raw: Mapping[str, Any]) -> HttpConfig | None:
    section = reader.table(raw, "http")
    reader.keys(section, "http", HTTP_KEYS)
    token = reader.secret(section, "http", "hook_token")
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise reader.error("http.hook_token",
                           f"must be at least {MIN_TOKEN_LENGTH} characters (a random secret)")
    listen = reader.string(section, "http.listen")
    if listen is None:
        return None
    host, port = parse_listen(reader, listen)
    return HttpConfig(host, port, token, read_auth_token(reader, section))


def parse_listen(reader: Reader, text: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``:port`` (every address)."""
    key = "http.listen"
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit():
        raise reader.error(key, f"{text!r} is not host:port, e.g. '127.0.0.1:9090'")
    port = int(port_text)
    if not 0 < port < 65536:
        raise reader.error(key, f"port {port} is not from 1 to 65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise reader.error(key, f"{host!r} is not an IPv6 address") from None
    elif ":" in host:
        raise reader.error(key, f"write an IPv6 address in brackets: '[{host}]:{port}'")
    host = host or "0.0.0.0"
    return host, port


INSTANCE_ENV = "WATCHER_INSTANCE"


def parse_instance(reader: Reader, section: Mapping[str, Any]) -> str:
    """The name this process goes by in logs and metrics: ``$WATCHER_INSTANCE``, else
    ``instance``, else the host name (in a container, set one of the first two: the host
    name there is a random id)."""
    value = os.environ.get(INSTANCE_ENV) or reader.string(section, "watcher.instance")
    if value is None:
        return socket.gethostname() or "watcher"
    if not value or len(value) > MAX_INSTANCE_LENGTH or not all(
            c.isalnum() or c in "-_." for c in value):
        key = INSTANCE_ENV if os.environ.get(INSTANCE_ENV) else "watcher.instance"
        raise reader.error(key,
                           f"{value!r}: 1 to {MAX_INSTANCE_LENGTH} letters, digits, '-', '_', '.'")
    return value


def parse_ping_url(reader: Reader, section: Mapping[str, Any]) -> str | None:
    value = reader.secret(section, "watcher", "ping_url")  # such URLs embed a secret id
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise reader.error("watcher.ping_url", "must be an http:// or https:// URL")
    return value
