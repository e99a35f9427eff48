"""A real forwarding proxy on loopback: ``CONNECT`` tunnels (HTTPS) and absolute-form requests
(plain HTTP), counting the connections it is asked to make.

    with ConnectProxy() as proxy:
        env = {"HTTPS_PROXY": proxy.url}
        ...
        proxy.connections, proxy.targets   # 1, ["0.0.0.0:5000"]

``credentials=("user", "pass")`` answers 407 to requests without that ``Proxy-Authorization``.
It connects only to loopback (and ``0.0.0.0``, local on Linux): a test never leaves the
machine, whatever host it names.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import socket
import threading
from urllib.parse import urlsplit

from tests.support.tcp import ThreadedTCPServer

_LOCAL = ("localhost", "0.0.0.0")


class ConnectProxy(ThreadedTCPServer):
    def __init__(self, *, credentials: tuple[str, str] | None = None) -> None:
        super().__init__()  # .connections: client connections accepted
        self.credentials = credentials
        self.targets: list[str] = []  # host:port of each tunnel or forwarded request
        self.authorizations: list[str | None] = []  # Proxy-Authorization of each request

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self, client: socket.socket) -> None:
        with client:
            client.settimeout(10)
            head = b""
            try:
                while b"\r\n\r\n" not in head:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    head += chunk
            except OSError:
                return
            head, _, rest = head.partition(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ", 2)
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            authorization = headers.get("proxy-authorization")
            with self._lock:
                self.authorizations.append(authorization)
            if self.credentials is not None:
                expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
                if authorization != expected:
                    client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                                   b'Proxy-Authenticate: Basic realm="test"\r\n'
                                   b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                    return
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                first = b""
            else:
                url = urlsplit(target)
                host, port = url.hostname or "", str(url.port or 80)
                path = url.path + (f"?{url.query}" if url.query else "")
                kept = [line for line in header_lines
                        if not line.lower().startswith(("proxy-", "connection:"))]
                first = ("\r\n".join([f"{method} {path} {version}", *kept]) + "\r\n\r\n"
                         ).encode("latin-1") + rest
            host = host.strip("[]")
            with self._lock:
                self.targets.append(f"{host}:{port}")
            if not _local(host):
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            try:
                upstream = socket.create_connection((host, int(port)), timeout=10)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with upstream:
                if method == "CONNECT":
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    if rest:
                        upstream.sendall(rest)
                else:
                    upstream.sendall(first)
                _pipe(client, upstream)


def _local(host: str) -> bool:
    if host in _LOCAL:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""

    def copy(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    other = threading.Thread(target=copy, args=(b, a), daemon=True)
    other.start()
    copy(a, b)
    other.join(timeout=10)
