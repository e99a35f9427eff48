"""The HTTP layer: timeouts, retries with backoff, 429 handling, rate-limit headers, redirects
that never carry credentials to another origin, bounded reads, and the one mapping from an
HTTP status to a watcher error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import httpx

from watcher.errors import (
    InvalidResponse,
    NotFound,
    RateLimited,
    RegistryError,
    RegistryUnavailable,
    Unauthorized,
)
from watcher.registry.headers import RateLimit, parse_rate_limit, parse_retry_after
from watcher.registry.settings import RegistrySettings

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5


@dataclass
class Host:
    """One registry as the client sees it: its settings, concurrency bound and last quota."""

    registry: str  # the name used in messages ("docker.io")
    api_host: str  # where requests go ("registry-1.docker.io")
    settings: RegistrySettings
    semaphore: asyncio.Semaphore = field(init=False)
    rate_limit: RateLimit | None = None

    def __post_init__(self) -> None:
        self.semaphore = asyncio.Semaphore(self.settings.max_concurrency)

    @property
    def base_url(self) -> str:
        return f"{self.settings.scheme}://{self.api_host}"

    def same_origin(self, url: httpx.URL) -> bool:
        base = httpx.URL(self.base_url)
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)


def error_for_status(
    status: int,
    *,
    registry: str,
    reference: str | None,
    what: str,
    retry_after: float | None = None,
    realm: str | None = None,
) -> RegistryError:
    """THE mapping from an HTTP status to a watcher error; every message says what failed."""
    kwargs = {"registry": registry, "reference": reference, "status": status}
    if status == 404:
        return NotFound(f"{what}: not found (404)", **kwargs)  # type: ignore[arg-type]
    if status in (401, 403):
        where = f" for realm {realm!r}" if realm else ""
        return Unauthorized(
            f"{what}: access denied{where} ({status}); check the credentials for this registry",
            realm=realm,
            **kwargs,
        )
    if status == 429:
        wait = f"; retry after {retry_after:.0f}s" if retry_after is not None else ""
        return RateLimited(f"{what}: rate limited (429){wait}", retry_after=retry_after, **kwargs)
    if status >= 500:
        return RegistryUnavailable(f"{what}: server error ({status})", **kwargs)  # type: ignore[arg-type]
    return InvalidResponse(f"{what}: unexpected HTTP status {status}", **kwargs)  # type: ignore[arg-type]


def _retryable(status: int) -> bool:
    return status == 429 or (status >= 500 and status != 501)


class Requester:
    """Sends one logical request to a registry, retrying what is worth retrying."""

    def __init__(self, client: httpx.AsyncClient, *, sleep: Sleep, jitter: Callable[[], float]):
        self._client = client
        self._sleep = sleep
        self._jitter = jitter

    def backoff(self, settings: RegistrySettings, attempt: int) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(max, base * 2**attempt)]."""
        ceiling = min(settings.backoff_max, settings.backoff_base * 2.0**attempt)
        return float(self._jitter() * ceiling)

    @asynccontextmanager
    async def request(
        self,
        host: Host,
        method: str,
        url: str | httpx.URL,
        *,
        headers: dict[str, str],
        reference: str | None,
        what: str,
        bounded: bool = True,
        follow_redirects: bool = False,
        content: bytes | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Yield the first response worth reading (2xx, 3xx when not following, 4xx but 429).

        ``bounded`` holds one of the host's concurrency permits for the whole exchange.
        Authorization goes only to the host's own origin: a redirect elsewhere drops it.
        """
        async with AsyncExitStack() as stack:
            if bounded:
                await stack.enter_async_context(host.semaphore)
            target = httpx.URL(url)
            hop_headers = dict(headers)
            for _ in range(MAX_REDIRECTS + 1):
                response = await self._send(
                    host, method, target, hop_headers, reference, what, content
                )
                if not (follow_redirects and response.status_code in REDIRECTS):
                    stack.push_async_callback(response.aclose)
                    yield response
                    return
                location = response.headers.get("location")
                await response.aclose()
                if not location:
                    raise InvalidResponse(
                        f"{what}: redirect without a Location", registry=host.registry,
                        reference=reference, status=response.status_code,
                    )
                target = target.join(location)
                if not host.same_origin(target):
                    hop_headers.pop("Authorization", None)
                if response.status_code == 303:
                    method, content = "GET", None
            raise InvalidResponse(
                f"{what}: more than {MAX_REDIRECTS} redirects",
                registry=host.registry, reference=reference,
            )

    async def _send(
        self,
        host: Host,
        method: str,
        url: httpx.URL,
        headers: dict[str, str],
        reference: str | None,
        what: str,
        content: bytes | None,
    ) -> httpx.Response:
        settings = host.settings
        attempt = 0
        while True:
            request = self._client.build_request(
                method, url, headers=headers, content=content,
                timeout=httpx.Timeout(settings.timeout),
            )
            try:
                async with asyncio.timeout(settings.timeout * 2):
                    response = await self._client.send(request, stream=True)
            except (httpx.TransportError, TimeoutError) as exc:
                if attempt >= settings.retries:
                    raise RegistryUnavailable(
                        f"{what}: {_describe(exc)} (after {attempt + 1} attempts)",
                        registry=host.registry, reference=reference,
                    ) from exc
                delay = self.backoff(settings, attempt)
                log.debug("%s on %s: %s; retrying in %.2fs", what, host.registry, exc, delay)
            else:
                if host.same_origin(url):
                    self._note_rate_limit(host, response)
                if not _retryable(response.status_code):
                    return response
                await response.aclose()
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                too_long = retry_after is not None and retry_after > settings.max_retry_after
                if attempt >= settings.retries or too_long:
                    raise error_for_status(
                        response.status_code, registry=host.registry, reference=reference,
                        what=what, retry_after=retry_after,
                    )
                delay = retry_after if retry_after is not None else self.backoff(settings, attempt)
                log.debug(
                    "%s on %s: HTTP %d; retrying in %.2fs",
                    what, host.registry, response.status_code, delay,
                )
            await self._sleep(delay)
            attempt += 1

    @staticmethod
    def _note_rate_limit(host: Host, response: httpx.Response) -> None:
        quota = parse_rate_limit(
            response.headers.get("ratelimit-limit"), response.headers.get("ratelimit-remaining")
        )
        if quota is not None:
            host.rate_limit = quota


def _describe(exc: BaseException) -> str:
    # Transports translate their errors into httpx's: judge by the original one, since the
    # aiohttp transport reports a dropped connection as a ConnectTimeout.
    root = exc.__cause__ if exc.__cause__ is not None else exc
    if isinstance(root, TimeoutError) or "timeout" in type(root).__name__.lower():
        return "timed out"
    text = str(root) or type(root).__name__
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        text += " (the registry may speak plain HTTP: set `insecure = true` for it)"
    return f"cannot connect: {text}"


async def read_bounded(
    response: httpx.Response,
    limit: int,
    *,
    registry: str,
    reference: str | None,
    what: str,
    within: float,
) -> bytes:
    """Read at most ``limit`` bytes of body within ``within`` seconds; fail beyond either.

    The transport's timeout bounds each read; ``within`` bounds the whole body, so a server
    that dribbles a byte at a time cannot hold a check round (and the daemon) forever.
    """

    def too_big() -> InvalidResponse:
        return InvalidResponse(
            f"{what}: body larger than {limit} bytes", registry=registry, reference=reference
        )

    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big()
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(within):
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise too_big()
                chunks.append(chunk)
    except TimeoutError as exc:
        raise RegistryUnavailable(
            f"{what}: the body did not arrive within {within:g}s", registry=registry,
            reference=reference,
        ) from exc
    except httpx.TransportError as exc:
        raise RegistryUnavailable(
            f"{what}: {_describe(exc)} while reading the body", registry=registry,
            reference=reference,
        ) from exc
    return b"".join(chunks)
