"""The transport: httpx's API over aiohttp, with malformed HTTP reported as httpx reports it.

aiohttp raises ``ClientResponseError`` for a response it cannot parse (a bad status line, a
header over 8 KiB, endless headers) and ``ClientPayloadError`` for a broken body (bad
chunking); httpx-aiohttp passes the first through untranslated and reports the second as a
dropped connection. Here both become :class:`httpx.RemoteProtocolError`, which the HTTP layer
turns into "the registry sent a malformed response".
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx


def default_transport() -> httpx.AsyncBaseTransport:
    """The transport chosen by measurement (docs/registry.md): httpx API over aiohttp."""
    from httpx_aiohttp import AiohttpTransport

    return ProtocolErrorTransport(AiohttpTransport(
        limits=httpx.Limits(max_connections=256, max_keepalive_connections=256)
    ))


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
