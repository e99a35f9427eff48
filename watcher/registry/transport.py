"""The transport: httpx's API over aiohttp, with malformed HTTP reported as httpx reports it,
and each request sent with its registry's TLS settings through the proxy it should use.

A request carries its :class:`Route` (the registry's TLS settings and own proxy) in the
``watcher.route`` request extension; :class:`RoutingTransport` keeps one aiohttp connection
pool per (TLS settings, proxy) and picks the proxy for each URL (see
:mod:`watcher.registry.proxies`). Without a route a request gets the default trust and the
environment's proxies.

aiohttp raises ``ClientResponseError`` for a response it cannot parse (a bad status line, a
header over 8 KiB, endless headers) and ``ClientPayloadError`` for a broken body (bad
chunking); httpx-aiohttp passes the first through untranslated and reports the second as a
dropped connection. Here both become :class:`httpx.RemoteProtocolError`, which the HTTP layer
turns into "the registry sent a malformed response".
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import aiohttp
import httpx

from watcher.registry.proxies import EnvironmentProxies, redact
from watcher.registry.tls import TlsSettings

ROUTE = "watcher.route"
LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=256)


@dataclass(frozen=True)
class Route:
    """What a request needs of its registry's settings: TLS, and the registry's own proxy
    (which wins over the environment's, for loopback hosts too)."""

    tls: TlsSettings | None = None
    proxy: str | None = None


def default_transport(environ: Mapping[str, str] | None = None) -> httpx.AsyncBaseTransport:
    """The transport chosen by measurement (docs/registry.md): httpx API over aiohttp, with
    the proxies of ``environ`` (default: this process's environment)."""
    return ProtocolErrorTransport(RoutingTransport(os.environ if environ is None else environ))


class RoutingTransport(httpx.AsyncBaseTransport):
    """One aiohttp transport per (TLS settings, proxy); the proxy picked per request URL."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._proxies = EnvironmentProxies.from_environ(environ)
        self._pools: dict[tuple[TlsSettings | None, str | None], httpx.AsyncBaseTransport] = {}

    def proxy_for(self, request: httpx.Request) -> str | None:
        route = request.extensions.get(ROUTE)
        if isinstance(route, Route) and route.proxy is not None:
            return route.proxy
        url = request.url
        return self._proxies.for_url(url.scheme, url.host, url.port)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        from httpx_aiohttp import AiohttpTransport

        route = request.extensions.get(ROUTE)
        tls = route.tls if isinstance(route, Route) else None
        proxy = self.proxy_for(request)
        pool = self._pools.get((tls, proxy))
        if pool is None:
            pool = self._pools[(tls, proxy)] = AiohttpTransport(
                verify=tls.context if tls is not None else True,
                limits=LIMITS,
                proxy=_proxy(proxy) if proxy is not None else None,
            )
        if proxy is None:
            return await pool.handle_async_request(request)
        if request.url.scheme == "http":
            # Plain HTTP goes to the proxy as is (no CONNECT): the credentials go with it.
            authorization = _proxy(proxy).headers.get("Proxy-Authorization")
            if authorization is not None:
                request.headers["Proxy-Authorization"] = authorization
        try:
            response = await pool.handle_async_request(request)
        except httpx.ProxyError as exc:
            # The message names the proxy, never its credentials.
            cause = exc.__cause__ or exc
            status = getattr(cause, "status", None)
            detail = _detail(cause)
            if status and not detail.startswith(str(status)):
                detail = f"{status} {detail}"
            raise httpx.ProxyError(f"proxy {redact(proxy)}: {detail}", request=request) from exc
        if response.status_code == 407:
            await response.aclose()
            raise httpx.ProxyError(f"proxy {redact(proxy)}: 407 Proxy Authentication Required",
                                   request=request)
        return response

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


def _proxy(url: str) -> httpx.Proxy:
    """A proxy whose credentials (if any) travel as a ``Proxy-Authorization`` header."""
    parsed = httpx.URL(url)
    if not parsed.userinfo:
        return httpx.Proxy(parsed)
    token = base64.b64encode(f"{parsed.username}:{parsed.password}".encode()).decode()
    return httpx.Proxy(parsed.copy_with(username=None, password=None),
                       headers={"Proxy-Authorization": f"Basic {token}"})


def _detail(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    words = [word for word in str(text).split() if word != "^"]
    return " ".join(words)[:200]


def _malformed(exc: BaseException) -> bool:
    cause = exc.__cause__
    return isinstance(exc, aiohttp.ClientResponseError | aiohttp.ClientPayloadError) or (
        isinstance(exc, httpx.TransportError)
        and isinstance(cause, aiohttp.ClientResponseError | aiohttp.ClientPayloadError)
    )


class _Body(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._inner = inner
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except (aiohttp.ClientError, httpx.TransportError) as exc:
            if not _malformed(exc):
                raise
            origin = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
            raise httpx.RemoteProtocolError(_detail(origin or exc), request=self._request) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()


class ProtocolErrorTransport(httpx.AsyncBaseTransport):
    """Wraps a transport: malformed responses raise :class:`httpx.RemoteProtocolError`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._inner.handle_async_request(request)
        except aiohttp.ClientResponseError as exc:
            raise httpx.RemoteProtocolError(_detail(exc), request=request) from exc
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code, headers=response.headers,
            stream=_Body(stream, request), request=request, extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
