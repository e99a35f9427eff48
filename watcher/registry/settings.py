"""Per-registry settings and credentials: plain values handed to the client (it reads no files)."""

from __future__ import annotations

from dataclasses import dataclass, field

from watcher.core.reference import is_loopback
from watcher.errors import ConfigError
from watcher.registry.proxies import redact
from watcher.registry.tls import TlsSettings

MiB = 1024 * 1024


@dataclass(frozen=True, repr=False)
class Credentials:
    """What to authenticate with. ``repr`` never shows a secret.

    - ``username`` + ``password``: HTTP Basic, or Basic to the token server (Docker Hub's way);
    - ``token``: a static bearer token sent as is (for example a registry access token);
    - ``identity_token``: an OAuth2 refresh token, as ``docker login`` stores it.
    """

    username: str | None = None
    password: str | None = None
    token: str | None = None
    identity_token: str | None = None

    def __post_init__(self) -> None:
        if self.password is not None and not self.username:
            raise ConfigError("a password needs a username", key="credentials")
        if self.token is not None and (self.username or self.identity_token):
            raise ConfigError(
                "a static token excludes username/password and identity token", key="credentials"
            )

    @property
    def basic(self) -> tuple[str, str] | None:
        """(username, password) when both are set."""
        if self.username and self.password is not None:
            return self.username, self.password
        return None

    def __repr__(self) -> str:
        parts = []
        if self.username is not None:
            parts.append(f"username={self.username!r}")
        for name in ("password", "token", "identity_token"):
            if getattr(self, name) is not None:
                parts.append(f"{name}='***'")
        return f"Credentials({', '.join(parts)})"

    __str__ = __repr__


@dataclass(frozen=True)
class Rate:
    """At most ``requests`` requests every ``period`` seconds."""

    requests: float
    period: float

    def __str__(self) -> str:
        return f"{self.requests:g}/{self.period:g}s"


# Docker Hub limits pulls per account and per address: watcher is gentle with it unless told
# otherwise. (Its HEAD requests, all an unchanged check needs, do not count as pulls.)
DOCKER_HUB_CONCURRENCY = 4
DOCKER_HUB_RATE = Rate(10, 1.0)


@dataclass(frozen=True)
class RegistrySettings:
    """How to talk to one registry.

    ``insecure`` allows plain HTTP for this host: the client then speaks ``http://`` to it, and
    credentials may travel over HTTP to it and to the token server it names. ``False``: the
    client speaks HTTPS and refuses to send credentials anywhere over plain HTTP. ``None`` (the
    default) decides as Docker does: plain HTTP for a loopback host (``localhost``,
    ``127.0.0.0/8``, ``::1``), HTTPS for every other; with ``tls`` set, HTTPS for every host.

    ``tls`` (see :func:`~watcher.registry.tls.load_tls`): a private CA, a client certificate,
    or no verification, for every request made for this registry (its token server and
    redirects too). ``proxy``: the proxy URL all of those requests go through, loopback
    hosts included; ``None`` uses ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``. Its
    credentials never appear in a repr or a message.

    ``rate`` (:class:`Rate`) paces requests to the registry; ``reserve`` keeps the last part of
    a budget the registry states (``RateLimit-Remaining``) unspent.

    ``max_retry_after`` caps how long a 429 may make us wait: a longer ``Retry-After`` fails at
    once with :class:`~watcher.errors.RateLimited` rather than stalling a whole check round.
    ``max_retry_time`` caps the waits between retries of one client call (``resolve``,
    ``list_tags``, ``image_config``) added together: a call that would wait longer fails
    with the last error instead.
    """

    host: str = "*"
    insecure: bool | None = None
    credentials: Credentials | None = None
    max_concurrency: int = 8
    timeout: float = 10.0
    retries: int = 3
    max_tag_pages: int = 100
    max_tags: int = 50_000
    max_retry_after: float = 60.0
    max_retry_time: float = 120.0
    backoff_base: float = 0.5
    backoff_max: float = 10.0
    max_manifest_bytes: int = 4 * MiB
    max_config_bytes: int = 8 * MiB
    tls: TlsSettings | None = None
    proxy: str | None = field(default=None, repr=False)
    rate: Rate | None = None
    # GET requests (the ones Docker Hub counts as pulls) stop while a registry's stated
    # remaining budget is at or under this share of its limit, until its window passes.
    reserve: float = 0.02

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__dataclass_fields__
                          if name != "proxy")
        proxy = f", proxy={redact(self.proxy)!r}" if self.proxy is not None else ""
        return f"RegistrySettings({shown}{proxy})"

    def __post_init__(self) -> None:
        checks = {
            "max_concurrency": self.max_concurrency >= 1,
            "timeout": self.timeout > 0,
            "retries": self.retries >= 0,
            "max_tag_pages": self.max_tag_pages >= 1,
            "max_tags": self.max_tags >= 1,
            "max_retry_after": self.max_retry_after >= 0,
            "max_retry_time": self.max_retry_time >= 0,
            "backoff_base": self.backoff_base >= 0,
            "backoff_max": self.backoff_max >= 0,
            "max_manifest_bytes": self.max_manifest_bytes >= 1,
            "max_config_bytes": self.max_config_bytes >= 1,
        }
        for key, ok in checks.items():
            if not ok:
                raise ConfigError(
                    f"{getattr(self, key)!r} is out of range", key=f"{self.host}.{key}"
                )

    def plain_http(self, api_host: str) -> bool:
        """Whether to speak plain HTTP to ``api_host`` (see ``insecure``)."""
        if self.insecure is not None:
            return self.insecure
        return self.tls is None and is_loopback(api_host)

    def scheme(self, api_host: str) -> str:
        return "http" if self.plain_http(api_host) else "https"
