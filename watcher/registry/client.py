"""The registry API: resolve a tag to digests, list tags, read an image config."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TypeVar

import httpx

from watcher.core.digest import algorithm_of, digest_problem
from watcher.core.observation import (
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    ImageConfig,
    ManifestObservation,
)
from watcher.core.reference import DOCKER_HUB, DOCKER_HUB_API_HOST, ImageReference
from watcher.errors import ConfigError, InvalidResponse, NotFound
from watcher.registry import manifests
from watcher.registry.auth import Authenticator, TokenCache
from watcher.registry.counting import RequestCount, counting
from watcher.registry.failures import error_for_status
from watcher.registry.headers import RateLimit, parse_link_next
from watcher.registry.http import (
    Host,
    HttpClient,
    Requester,
    RequestObserver,
    Sleep,
    read_bounded,
    retry_budget,
)
from watcher.registry.settings import RegistrySettings
from watcher.registry.tls import TlsSettings
from watcher.registry.transport import default_transport

_T = TypeVar("_T")
log = logging.getLogger(__name__)
ACCEPT_MANIFESTS = ", ".join(MANIFEST_MEDIA_TYPES)
_TAG_BYTES = 160  # generous bytes per tag in a tags/list page, to bound its size
# Registries already warned about in this process, with the settings (a config reloaded
# with tls_verify = false again is said again, once).
_warned_unverified: set[tuple[str, TlsSettings]] = set()


def _warn_unverified(registry: str, settings: RegistrySettings) -> None:
    """Say once per registry and process that its certificates are not checked."""
    tls = settings.tls
    if tls is None or tls.verify or (registry, tls) in _warned_unverified:
        return
    _warned_unverified.add((registry, tls))
    log.warning("%s: TLS certificates are not verified (tls_verify = false): anyone between "
                "watcher and this registry can read and change what it answers, and the "
                "credentials sent to it; set ca_file to its CA instead", registry)


@dataclass(frozen=True)
class RegistryBudgetSeen:
    """A registry's budget as the client last saw it; ``paused_until`` is Unix time."""

    registry: str
    limit: int | None
    remaining: int | None
    window: float | None
    backoffs: int
    paused_until: float | None


class RegistryClient:
    """One client for all registries: a connection pool shared by all, and per registry its
    settings, a concurrency bound and its last rate-limit headers. Use it as an async context
    manager (or call :meth:`aclose`), within one event loop."""

    def __init__(
        self,
        settings: Mapping[str, RegistrySettings] | None = None,
        default: RegistrySettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
        observer: RequestObserver | None = None,
    ) -> None:
        """``observer`` is told of every request sent (registry, method, status, seconds)."""
        self._settings = dict(settings or {})
        self._default = default or RegistrySettings()
        if self._default.credentials is not None:
            raise ConfigError("the default registry settings cannot carry credentials: they "
                              "would go to every registry", key="default.credentials")
        # The transport applies the proxy environment variables itself (per registry, with
        # the loopback rule); httpx's own reading of them would not reach aiohttp.
        self._http = HttpClient(
            transport=transport or default_transport(), follow_redirects=False, trust_env=False
        )
        self._auth = Authenticator(Requester(self._http, sleep=sleep, jitter=jitter,
                                             observer=observer),
                                   TokenCache(clock))
        self._hosts: dict[str, Host] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def settings_for(self, ref: ImageReference) -> RegistrySettings:
        """Settings keyed by ``ref.registry`` ("docker.io") or ``ref.api_host``, else default."""
        return self._settings.get(ref.registry) or self._settings.get(ref.api_host) or self._default

    def budgets(self) -> list[RegistryBudgetSeen]:
        """What each registry spoken to said of its budget, and of backing off."""
        now_wall, now = time.time(), time.monotonic()
        seen = []
        for host in self._hosts.values():
            quota = host.rate_limit
            if quota is None and not host.backoffs:
                continue
            paused = host.paused_until - now
            seen.append(RegistryBudgetSeen(
                registry=host.registry,
                limit=quota.limit if quota else None,
                remaining=quota.remaining if quota else None,
                window=quota.window if quota else None,
                backoffs=host.backoffs,
                paused_until=now_wall + paused if paused > 0 else None,
            ))
        return seen

    def rate_limit(self, host: str) -> RateLimit | None:
        """The quota stated by ``host``'s last response, if it states one."""
        api_host = DOCKER_HUB_API_HOST if host == DOCKER_HUB else host
        known = self._hosts.get(api_host)
        return known.rate_limit if known else None

    async def resolve(
        self, ref: ImageReference, known: ManifestObservation | None = None
    ) -> ManifestObservation:
        """What ``ref`` points to now. One HEAD when the digest equals ``known.digest``.

        A ``Docker-Content-Digest`` that is missing or not a valid digest, or a HEAD the
        registry does not support (405, 501), falls back to a GET whose body is hashed. A
        digest in another algorithm than ``known``'s (sha512 for a stored sha256) is compared
        in ``known``'s algorithm: the same manifest is ``known``, not a change.
        """
        with retry_budget(self._host(ref).settings.max_retry_time):
            return await self._resolve_now(ref, known)

    async def list_tags(self, ref: ImageReference) -> list[str]:
        """Every tag of ``ref``'s repository, following ``Link: rel="next"`` pages."""
        with retry_budget(self._host(ref).settings.max_retry_time):
            return await self._list_tags_now(ref)

    async def image_config(self, ref: ImageReference, platform: str | None = None) -> ImageConfig:
        """The config of ``ref``'s image for ``platform`` (``None`` for a single manifest)."""
        with retry_budget(self._host(ref).settings.max_retry_time):
            return await self._image_config_now(ref, platform)

    async def head_digest(self, ref: ImageReference) -> str | None:
        """The digest ``ref`` (a tag) points to, by one HEAD (a GET when the registry gives no
        usable digest); None when the tag does not exist."""
        with retry_budget(self._host(ref).settings.max_retry_time):
            host = self._host(ref)
            try:
                digest, _ = await self._head(host, ref)
                if digest is None:
                    _, digest, _ = await self._manifest(host, ref, ref.manifest_reference)
            except NotFound:
                return None
            return digest

    async def manifest(self, ref: ImageReference, reference: str) -> tuple[bytes, str]:
        """The manifest ``reference`` (a digest or tag) of ``ref``'s repository, bounded by
        ``max_manifest_bytes`` and verified: (body, media type)."""
        with retry_budget(self._host(ref).settings.max_retry_time):
            body, _, media_type = await self._manifest(self._host(ref), ref, reference)
            return body, media_type

    async def blob(self, ref: ImageReference, digest: str, max_bytes: int) -> bytes:
        """A small blob of ``ref``'s repository (a config, an attestation statement), at most
        ``max_bytes``, verified against ``digest``. Never used for an image's layers."""
        host = self._host(ref)
        what = f"blob {digest}"
        with retry_budget(host.settings.max_retry_time):
            async with self._auth.request(
                host, "GET", self._url(host, ref, f"blobs/{digest}"), headers={},
                scope=_scope(ref), reference=str(ref), what=what, follow_redirects=True,
            ) as response:
                _expect_ok(response, host, ref, what)
                body = await read_bounded(response, max_bytes, registry=ref.registry,
                                          reference=str(ref), what=what,
                                          within=host.settings.timeout)
        self._parse(host, ref, lambda data: manifests.verify_digest(data, digest), body)
        return body

    @staticmethod
    def count_requests() -> AbstractContextManager[RequestCount]:
        """Count the requests sent inside, by this task and the tasks it starts there."""
        return counting()

    def retry_budget(self, ref: ImageReference) -> AbstractContextManager[None]:
        """One ``max_retry_time`` for every call made inside: one image's whole check."""
        return retry_budget(self._host(ref).settings.max_retry_time)

    def _host(self, ref: ImageReference) -> Host:
        host = self._hosts.get(ref.api_host)
        if host is None:
            settings = self.settings_for(ref)
            _warn_unverified(ref.registry, settings)
            host = self._hosts[ref.api_host] = Host(ref.registry, ref.api_host, settings)
        return host

    async def _resolve_now(
        self, ref: ImageReference, known: ManifestObservation | None
    ) -> ManifestObservation:
        host = self._host(ref)
        digest, media_type = await self._head(host, ref)
        if digest and ref.digest and algorithm_of(digest) != algorithm_of(ref.digest):
            digest = None  # compare in the requested algorithm: the GET verifies it
        if ref.digest and digest and digest != ref.digest:
            raise InvalidResponse(f"asked for {ref.digest}, the registry answered {digest}",
                                  registry=ref.registry, reference=str(ref))
        body: bytes | None = None
        if not digest or (known is not None
                          and algorithm_of(digest) != algorithm_of(known.digest)):
            body, digest, media_type = await self._manifest(host, ref, ref.manifest_reference)
        if known is not None and known.digest in (digest, _rehash(body, known.digest)):
            return known
        if media_type in MANIFEST_MEDIA_TYPES and media_type not in INDEX_MEDIA_TYPES:
            return ManifestObservation(digest, media_type)
        if body is None:
            body, digest, media_type = await self._manifest(host, ref, digest)
        if media_type in INDEX_MEDIA_TYPES:
            platforms = self._parse(host, ref, manifests.index_platforms, body)
            return ManifestObservation(digest, media_type, platforms)
        return ManifestObservation(digest, media_type)

    async def _head(self, host: Host, ref: ImageReference) -> tuple[str | None, str]:
        """(digest, media type) from a HEAD; no digest when the registry gave no valid one."""
        url = self._url(host, ref, f"manifests/{ref.manifest_reference}")
        async with self._auth.request(
            host, "HEAD", url, headers={"Accept": ACCEPT_MANIFESTS}, scope=_scope(ref),
            reference=str(ref), what="manifest HEAD", follow_redirects=True,
        ) as response:
            if response.status_code in (405, 501):
                log.debug("%s: HEAD answered %d; using GET", ref, response.status_code)
                return None, ""
            _expect_ok(response, host, ref, "manifest HEAD")
            claimed = response.headers.get("docker-content-digest")
            media_type = response.headers.get("content-type", "").split(";")[0].strip()
        return _valid_digest(claimed, ref), media_type

    async def _list_tags_now(self, ref: ImageReference) -> list[str]:
        host = self._host(ref)
        settings = host.settings
        url = httpx.URL(self._url(host, ref, "tags/list"))
        page_limit = max(1024 * 1024, settings.max_tags * _TAG_BYTES)
        tags: dict[str, None] = {}
        for _ in range(settings.max_tag_pages):
            async with self._auth.request(
                host, "GET", str(url), headers={"Accept": "application/json"}, scope=_scope(ref),
                reference=str(ref), what="tag list", follow_redirects=True,
            ) as response:
                _expect_ok(response, host, ref, "tag list")
                body = await read_bounded(response, page_limit, registry=ref.registry,
                                          reference=str(ref), what="tag list",
                                          within=host.settings.timeout)
                link = response.headers.get("link")
            tags.update(dict.fromkeys(self._parse(host, ref, manifests.tags_page, body)))
            if len(tags) > settings.max_tags:
                raise InvalidResponse(
                    f"more than max_tags={settings.max_tags} tags; raise max_tags to list them",
                    registry=ref.registry, reference=str(ref),
                )
            following = parse_link_next(link)
            if following is None:
                return list(tags)
            url = url.join(following)
            if not host.same_origin(url):
                raise InvalidResponse(f"tag list pagination points to another origin: {url}",
                                      registry=ref.registry, reference=str(ref))
        raise InvalidResponse(
            f"tag list has more than max_tag_pages={settings.max_tag_pages} pages; "
            "raise max_tag_pages to list them all", registry=ref.registry, reference=str(ref),
        )

    async def _image_config_now(self, ref: ImageReference, platform: str | None) -> ImageConfig:
        host = self._host(ref)
        body, _, media_type = await self._manifest(host, ref, ref.manifest_reference)
        if media_type in INDEX_MEDIA_TYPES:
            platforms = self._parse(host, ref, manifests.index_platforms, body)
            child = manifests.select_platform(platforms, platform) if platform else None
            if child is None:
                asked = f"platform {platform!r} is not" if platform else "no platform was"
                raise NotFound(
                    f"{asked} given/found in the index; it has: {', '.join(sorted(platforms))}",
                    registry=ref.registry, reference=str(ref),
                )
            body, _, media_type = await self._manifest(host, ref, child)
            if media_type in INDEX_MEDIA_TYPES:
                raise InvalidResponse(f"index entry {child} is itself an index",
                                      registry=ref.registry, reference=str(ref))
        config = self._parse(host, ref, manifests.config_digest, body)
        url = self._url(host, ref, f"blobs/{config}")
        async with self._auth.request(
            host, "GET", url, headers={}, scope=_scope(ref), reference=str(ref),
            what=f"config blob {config}", follow_redirects=True,
        ) as response:
            _expect_ok(response, host, ref, f"config blob {config}")
            blob = await read_bounded(response, host.settings.max_config_bytes,
                                      registry=ref.registry, reference=str(ref),
                                      what=f"config blob {config}",
                                      within=host.settings.timeout)
        self._parse(host, ref, lambda data: manifests.verify_digest(data, config), blob)
        return self._parse(host, ref, lambda data: manifests.image_config(data, config), blob)

    async def _manifest(
        self, host: Host, ref: ImageReference, reference: str
    ) -> tuple[bytes, str, str]:
        """GET a manifest by tag or digest, bounded and verified: (body, digest, media type)."""
        what = f"manifest {reference}"
        async with self._auth.request(
            host, "GET", self._url(host, ref, f"manifests/{reference}"),
            headers={"Accept": ACCEPT_MANIFESTS}, scope=_scope(ref), reference=str(ref), what=what,
            follow_redirects=True,
        ) as response:
            _expect_ok(response, host, ref, what)
            body = await read_bounded(response, host.settings.max_manifest_bytes,
                                      registry=ref.registry, reference=str(ref), what=what,
                                      within=host.settings.timeout)
            claimed = _valid_digest(response.headers.get("docker-content-digest"), ref)
            content_type = response.headers.get("content-type")
        requested = reference if ":" in reference else None
        # Verified against both; named as requested (a pinned sha256 stays sha256).
        digest = self._parse(host, ref, lambda d: manifests.verify_digest(d, requested, claimed),
                             body)
        media_type = self._parse(host, ref, lambda d: manifests.media_type_of(d, content_type),
                                 body)
        return body, digest, media_type

    @staticmethod
    def _url(host: Host, ref: ImageReference, path: str) -> str:
        return f"{host.base_url}/v2/{ref.repository}/{path}"

    @staticmethod
    def _parse(host: Host, ref: ImageReference, parse: Callable[[bytes], _T], body: bytes) -> _T:
        try:
            return parse(body)
        except manifests.ManifestError as exc:
            raise InvalidResponse(str(exc), registry=ref.registry, reference=str(ref)) from exc


def _valid_digest(claimed: str | None, ref: ImageReference) -> str | None:
    """``claimed`` when it is a digest we can verify, else ``None`` (the body is hashed)."""
    if not claimed:
        return None
    problem = digest_problem(claimed)
    if problem is None and algorithm_of(claimed) not in manifests.ALGORITHMS:
        problem = f"algorithm {algorithm_of(claimed)!r} is not supported"
    if problem is not None:
        log.debug("%s: ignoring Docker-Content-Digest: %s", ref, problem)
        return None
    return claimed


def _rehash(body: bytes | None, like: str) -> str | None:
    """The digest of ``body`` in the algorithm of ``like``, when it differs and is known."""
    algorithm = algorithm_of(like)
    if body is None or algorithm not in manifests.ALGORITHMS:
        return None
    return manifests.compute_digest(body, algorithm)


def _scope(ref: ImageReference) -> str:
    return f"repository:{ref.repository}:pull"


def _expect_ok(response: httpx.Response, host: Host, ref: ImageReference, what: str) -> None:
    if response.status_code != 200:
        raise error_for_status(response.status_code, registry=ref.registry, reference=str(ref),
                               what=what)
