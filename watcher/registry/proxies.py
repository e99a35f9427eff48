"""Which proxy a request goes through: a registry's own ``proxy``, else the environment's.

The environment is read as curl, httpx and Docker read it: ``HTTPS_PROXY`` for ``https://``
URLs, ``HTTP_PROXY`` for ``http://`` ones, ``ALL_PROXY`` for both when the other is unset,
each also in lower case (which wins); a value without a scheme means ``http://``.
``NO_PROXY`` (or ``no_proxy``) lists what goes direct, comma separated:

- ``*``: nothing is proxied;
- ``example.com`` or ``.example.com``: that host and every host under it;
- ``example.com:5000``: that host on that port only;
- ``10.1.2.3``, ``10.0.0.0/8``, ``::1``, ``[::1]:5000``: addresses and networks.

Loopback hosts (``localhost``, ``127.0.0.0/8``, ``::1``) never go through an environment
proxy, as with Docker; a registry's own ``proxy`` applies to them too. The HTTP proxy
environment variable is ignored when ``REQUEST_METHOD`` is set (a CGI environment, where a
request's ``Proxy:`` header would appear as ``HTTP_PROXY``), as Python's urllib does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from watcher.core.reference import is_loopback
from watcher.errors import ConfigError

SCHEMES = ("http", "https")


def redact(url: str) -> str:
    """``url`` without its credentials: ``http://***@proxy:3128``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    host = authority.rpartition("@")[2]
    return f"{scheme}{sep}***@{host}{slash}{path}"


def check_proxy_url(url: str, *, key: str) -> str:
    """``url`` as a proxy URL (``http://`` added when there is no scheme); ConfigError naming
    ``key`` when it cannot be one. The error never shows the URL's credentials."""
    text = url.strip()
    if "://" not in text:
        text = f"http://{text}"
    scheme, _, rest = text.partition("://")
    authority = rest.partition("/")[0]
    host = authority.rpartition("@")[2]
    if scheme.lower() not in SCHEMES:
        raise ConfigError(f"{redact(url)!r}: only http:// and https:// proxies are supported",
                          key=key)
    name, port = _split(host)
    if not name or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ConfigError(f"{redact(url)!r} is not a proxy URL such as http://proxy:3128",
                          key=key)
    return text


def _split(host: str) -> tuple[str, str | None]:
    """(name, port) of ``host[:port]``; IPv6 literals in brackets."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, rest[1:] if rest.startswith(":") else None
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        return name, port
    return host, None


@dataclass(frozen=True)
class _Bypass:
    name: str | None = None  # a domain: it and every host under it
    port: int | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None

    def matches(self, host: str, port: int | None) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.network is not None:
            try:
                return ipaddress.ip_address(host) in self.network
            except ValueError:
                return False
        assert self.name is not None
        return host == self.name or host.endswith(f".{self.name}")


def _bypass(entry: str) -> _Bypass | None:
    entry = entry.strip().lower()
    if not entry:
        return None
    try:
        return _Bypass(network=ipaddress.ip_network(entry.strip("[]"), strict=False))
    except ValueError:
        pass
    name, port = _split(entry)
    port_number = int(port) if port and port.isdigit() else None
    if port is not None and port_number is None:
        return None  # unreadable: ignored, as curl and Go do
    try:
        return _Bypass(network=ipaddress.ip_network(name, strict=False), port=port_number)
    except ValueError:
        name = name.lstrip("*").lstrip(".").rstrip(".")
        return _Bypass(name=name, port=port_number) if name else None


@dataclass(frozen=True)
class EnvironmentProxies:
    """The proxies the environment names, and what bypasses them."""

    http: str | None = None
    https: str | None = None
    everything_direct: bool = False
    bypass: tuple[_Bypass, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> EnvironmentProxies:
        def variable(name: str) -> tuple[str, str] | None:
            for spelled in (name.lower(), name.upper()):
                if spelled == "HTTP_PROXY" and "REQUEST_METHOD" in environ:
                    continue
                value = environ.get(spelled, "").strip()
                if value:
                    return spelled, value
            return None

        def proxy(name: str) -> str | None:
            found = variable(name) or variable("ALL_PROXY")
            return check_proxy_url(found[1], key=found[0]) if found else None

        no_proxy = variable("NO_PROXY")
        entries = [e.strip() for e in (no_proxy[1] if no_proxy else "").split(",")]
        return cls(
            http=proxy("HTTP_PROXY"),
            https=proxy("HTTPS_PROXY"),
            everything_direct="*" in entries,
            bypass=tuple(b for b in map(_bypass, entries) if b is not None),
        )

    def for_url(self, scheme: str, host: str, port: int | None) -> str | None:
        """The proxy URL for a request, or ``None`` to connect directly."""
        proxy = self.https if scheme == "https" else self.http if scheme == "http" else None
        if proxy is None or self.everything_direct:
            return None
        host = host.lower().strip("[]").rstrip(".")
        if is_loopback(host if ":" not in host else f"[{host}]"):
            return None
        if port is None:
            port = 443 if scheme == "https" else 80
        if any(entry.matches(host, port) for entry in self.bypass):
            return None
        return proxy
