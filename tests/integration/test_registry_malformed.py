"""Malformed HTTP from a registry is a clear, typed error, never an aiohttp exception or a
cancellation: small raw-socket servers on loopback send what no real HTTP server would."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.support import missing_component
from tests.support.httpservers import RawServer
from watcher.core.reference import ImageReference
from watcher.errors import InvalidResponse, RegistryError, RegistryUnavailable
from watcher.registry import RegistryClient, RegistrySettings


def endless_headers(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for index in range(200_000):
        conn.sendall(b"X-Filler-%d: y\r\n" % index)


CHUNKED = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
           b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{\"tags\": []}\r\n0\r\n\r\n")
ANSWERS: dict[str, tuple[bytes | Callable[[socket.socket], None], str]] = {
    "bad status line": (b"HTTP/1.1 abc Nope\r\n\r\n", "status"),
    "not HTTP at all": (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "status line"),
    "a 100 KB header": (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100_000
                        + b"\r\nContent-Length: 0\r\n\r\n", "bytes"),
    "bad chunking": (CHUNKED, ""),
    "headers that never finish": (endless_headers, "headers"),
}


def run(host: str, work: Callable[[RegistryClient, ImageReference], Awaitable[Any]]) -> Any:
    async def no_sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    async def main() -> Any:
        settings = RegistrySettings(host=host, timeout=5)
        async with RegistryClient({host: settings}, sleep=no_sleep) as client:
            return await work(client, ImageReference(host, "lib/app", "1"))

    return asyncio.run(main())


@pytest.mark.parametrize("case", list(ANSWERS))
@pytest.mark.parametrize("call", ["resolve", "list_tags"])
def test_malformed_http_is_a_clear_registry_error(case: str, call: str) -> None:
    answer, detail = ANSWERS[case]
    with RawServer(answer) as server:
        with pytest.raises(InvalidResponse) as caught:
            run(server.host, lambda c, ref: getattr(c, call)(ref))
        connections = server.connections
    message = str(caught.value)
    assert isinstance(caught.value, RegistryError)
    assert "the registry sent a malformed response" in message
    assert detail in message
    assert message.startswith(f"{server.host}/lib/app:1 on {server.host}: ")
    assert "ClientResponseError" not in message
    assert "\n" not in message
    assert connections == 1, "a malformed response is not worth retrying"


@pytest.fixture(scope="module")
def untrusted_tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server context with a self-signed certificate this machine does not trust."""
    if shutil.which("openssl") is None:
        missing_component("openssl is needed to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_an_untrusted_certificate_is_said_once_and_not_retried(
    untrusted_tls: ssl.SSLContext,
) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    with RawServer(answer, tls=untrusted_tls) as server:
        async def main() -> Any:
            settings = RegistrySettings(host=server.host, insecure=False, retries=3)
            async with RegistryClient({server.host: settings}) as client:
                return await client.resolve(ImageReference(server.host, "lib/app", "1"))

        with pytest.raises(RegistryUnavailable) as caught:
            asyncio.run(main())
        connections = server.connections
    assert "certificate verify failed" in str(caught.value)
    assert "attempts" not in str(caught.value)
    assert connections == 1
