"""The HTTP layer: timeouts, retries with backoff and a budget, 429 handling, rate-limit
headers, redirects that never carry credentials to another origin, bounded reads. What a
failure means is decided in :mod:`watcher.registry.failures`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from aiolimiter import AsyncLimiter

from watcher.core.retry_after import parse_retry_after
from watcher.errors import InvalidResponse, RateLimited, RegistryError, RegistryUnavailable
from watcher.registry.counting import sent_one
from watcher.registry.failures import (
    MALFORMED,
    describe,
    error_for_status,
    transport_failure,
    worth_retrying,
)
from watcher.registry.headers import RateLimit, parse_rate_limit
from watcher.registry.settings import RegistrySettings
from watcher.registry.transport import ROUTE, Route

if TYPE_CHECKING:
    from httpx._types import CookieTypes

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
    rate_limit_at: float = 0.0  # when the registry last stated it (monotonic)
    plain_http: bool = field(init=False)
    route: Route = field(init=False)
    limiter: AsyncLimiter | None = field(init=False)
    paused_until: float = 0.0  # a 429's back-off: no request to this registry before it
    backoffs: int = 0  # how many times this registry asked to back off
    timeout: httpx.Timeout = field(init=False)
    _origin: tuple[str, str, int | None] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.semaphore = asyncio.Semaphore(self.settings.max_concurrency)
        rate = self.settings.rate
        self.limiter = AsyncLimiter(rate.requests, rate.period) if rate else None
        self.plain_http = self.settings.plain_http(self.api_host)
        self.route = Route(self.settings.tls, self.settings.proxy)
        self.timeout = httpx.Timeout(self.settings.timeout)

    async def wait_turn(self, sleep: Sleep, waited: float = 0.0) -> float:
        """Wait out this registry's back-off (unless ``waited`` for it already), then for its
        rate, holding no slot; returns the back-off waited for."""
        while self.paused_until > time.monotonic() and self.paused_until != waited:
            waited = self.paused_until  # once per back-off; again only if it grew meanwhile
            await sleep(waited - time.monotonic())
        if self.limiter is not None:
            await self.limiter.acquire()
        return waited

    def back_off(self, seconds: float, status: int) -> None:
        """Pause every request to this registry for ``seconds``; say so once per back-off,
        not once per request that met it."""
        until = time.monotonic() + seconds
        if until <= self.paused_until:
            return
        if self.paused_until < time.monotonic():  # a new back-off, not a longer one
            self.backoffs += 1
            log.warning("registry %s answered %s (too many requests): pausing its requests "
                        "for %.1fs", self.registry, status, seconds)
        self.paused_until = until

    def budget_reserved(self) -> bool:
        """True while the registry's stated budget is down to the reserve and its window
        has not passed since it said so."""
        quota = self.rate_limit
        if quota is None or quota.remaining is None or quota.limit <= 0:
            return False
        if quota.window is not None and time.monotonic() - self.rate_limit_at > quota.window:
            return False
        return quota.remaining <= max(1.0, quota.limit * self.settings.reserve)

    @property
    def base_url(self) -> str:
        return f"{'http' if self.plain_http else 'https'}://{self.api_host}"

    def same_origin(self, url: httpx.URL) -> bool:
        if self._origin is None:  # parsed once: every request asks
            base = httpx.URL(self.base_url)
            self._origin = (base.scheme, base.host, base.port)
        return (url.scheme, url.host, url.port) == self._origin


# Told of every request sent: (registry, method, status or 0 for no answer, seconds to the
# response's headers). For metrics; it must be cheap and must not raise.
RequestObserver = Callable[[str, str, int, float], None]


class CookiesWhenSet(httpx.Cookies):
    """httpx's cookie jar, but a response without ``Set-Cookie`` (every registry answer, as
    a rule) is not parsed for cookies: httpx builds a urllib request for each one, about 6%
    of the CPU of an unchanged check."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class HttpClient(httpx.AsyncClient):
    """httpx's client with :class:`CookiesWhenSet` as its jar."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._jar = CookiesWhenSet()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: CookieTypes) -> None:
        self._jar = CookiesWhenSet(cookies)


def _retryable(status: int) -> bool:
    return status == 429 or (status >= 500 and status != 501)


class Requester:
    """Sends one logical request to a registry, retrying what is worth retrying."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        sleep: Sleep,
        jitter: Callable[[], float],
        observer: RequestObserver | None = None,
    ):
        self._client = client
        self._sleep = sleep
        self._jitter = jitter
        self._observer = observer

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

        ``bounded`` holds one of the host's concurrency permits while a request is in flight
        and while the response yielded is read, never while waiting to retry.
        Authorization goes only to the host's own origin: a redirect elsewhere drops it.
        """
        async with AsyncExitStack() as stack:
            target = httpx.URL(url)
            hop_headers = dict(headers)
            for _ in range(MAX_REDIRECTS + 1):
                response = await self._send(
                    host, method, target, hop_headers, reference, what, content, bounded
                )
                if not (follow_redirects and response.status_code in REDIRECTS):
                    if bounded:
                        stack.callback(host.semaphore.release)
                    stack.push_async_callback(response.aclose)
                    yield response
                    return
                location = response.headers.get("location")
                try:
                    await response.aclose()
                finally:
                    if bounded:
                        host.semaphore.release()
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
        bounded: bool,
    ) -> httpx.Response:
        """One response, retried as needed; it holds a permit when ``bounded`` (the caller
        releases it). Permits are released while waiting to retry."""
        attempt = 0
        if method == "GET" and "/manifests/" in url.path and host.budget_reserved():
            quota = host.rate_limit
            assert quota is not None
            raise RateLimited(
                f"{what}: {host.registry}'s rate-limit budget is down to {quota.remaining} of "
                f"{quota.limit}; watcher keeps that reserve and tries again later",
                registry=host.registry, reference=reference, status=429)
        waited = 0.0  # the registry back-off this request has waited for already
        while True:
            waited = await host.wait_turn(self._sleep, waited)
            if bounded:
                await host.semaphore.acquire()
            holding = bounded
            try:
                outcome = await self._attempt(
                    host, method, url, headers, reference, what, content, attempt
                )
                if isinstance(outcome, httpx.Response):
                    holding = False  # handed to the caller with the response
                    return outcome
                failure, delay = outcome
            finally:
                if holding:
                    host.semaphore.release()
            budget = _budget.get()
            if budget is not None:
                if delay > budget.remaining:
                    raise _gave_up(failure, budget.limit)
                budget.remaining -= delay
            # The failure's message names the image, the registry and the request already.
            log.debug("%s; retrying in %.2fs", failure, delay)
            await self._sleep(delay)
            if isinstance(failure, RateLimited):
                waited = host.paused_until  # that was this back-off's wait
            attempt += 1

    async def _attempt(
        self,
        host: Host,
        method: str,
        url: httpx.URL,
        headers: dict[str, str],
        reference: str | None,
        what: str,
        content: bytes | None,
        attempt: int,
    ) -> httpx.Response | tuple[RegistryError, float]:
        """Send once: the response when it is final, else (why, how long to wait before the
        next attempt). Raises the error when it is final and a failure."""
        settings = host.settings
        request = self._client.build_request(
            method, url, headers=headers, content=content,
            timeout=host.timeout, extensions={ROUTE: host.route},
        )
        started = time.monotonic()
        sent_one()
        try:
            async with asyncio.timeout(settings.timeout * 2):
                response = await self._client.send(request, stream=True)
        except (httpx.TransportError, TimeoutError) as exc:
            if self._observer is not None:
                self._observer(host.registry, method, 0, time.monotonic() - started)
            failure = transport_failure(exc, registry=host.registry, api_host=url.netloc.decode(),
                                        reference=reference, what=what, tls=settings.tls)
            if attempt >= settings.retries or not worth_retrying(exc):
                if attempt:
                    failure.args = (f"{failure.message} (after {attempt + 1} attempts)",)
                raise failure from exc
            return failure, self.backoff(settings, attempt)
        if self._observer is not None:
            self._observer(host.registry, method, response.status_code,
                           time.monotonic() - started)
        if host.same_origin(url):
            self._note_rate_limit(host, response)
        if not _retryable(response.status_code):
            return response
        await response.aclose()
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        failure = error_for_status(
            response.status_code, registry=host.registry, reference=reference,
            what=what, retry_after=retry_after,
        )
        too_long = retry_after is not None and retry_after > settings.max_retry_after
        delay = retry_after if retry_after is not None else self.backoff(settings, attempt)
        if response.status_code == 429:
            host.back_off(delay, 429)  # the whole registry waits, not only this request
        if attempt >= settings.retries or too_long:
            raise failure
        return failure, delay

    @staticmethod
    def _note_rate_limit(host: Host, response: httpx.Response) -> None:
        quota = parse_rate_limit(
            response.headers.get("ratelimit-limit"), response.headers.get("ratelimit-remaining")
        )
        if quota is not None:
            host.rate_limit = quota
            host.rate_limit_at = time.monotonic()


@dataclass
class RetryBudget:
    """How much waiting between retries one client call may still spend."""

    limit: float
    remaining: float


_budget: ContextVar[RetryBudget | None] = ContextVar("watcher_retry_budget", default=None)


@contextmanager
def retry_budget(limit: float) -> Iterator[None]:
    """Cap the time all retries within this block wait, together (an outer block wins)."""
    if _budget.get() is not None:
        yield
        return
    token = _budget.set(RetryBudget(limit, limit))
    try:
        yield
    finally:
        _budget.reset(token)


def _gave_up(failure: RegistryError, limit: float) -> RegistryError:
    failure.args = (f"{failure.message} (gave up: retrying would wait longer than "
                    f"max_retry_time={limit:g}s in all)",)
    return failure


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
        if isinstance(exc, MALFORMED):
            raise transport_failure(exc, registry=registry, api_host=registry,
                                    reference=reference, what=f"{what} body") from exc
        raise RegistryUnavailable(
            f"{what}: {describe(exc)} while reading the body", registry=registry,
            reference=reference,
        ) from exc
    return b"".join(chunks)
