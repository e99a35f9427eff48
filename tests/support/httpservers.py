"""Small real HTTP servers on loopback for what the real registry cannot show us:
paginated tag lists, 429 and 5xx answers, redirects to another host, oversized bodies.

    with HttpServer(paginated_tags("lib/app", tags, page_size=10)) as server:
        server.host, server.url, server.seen   # seen: every request, in order

A handler gets a :class:`Seen` request and returns a :class:`Reply`.
"""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.tcp import ThreadedTCPServer


@dataclass(frozen=True)
class Seen:
    method: str
    path: str  # with query string
    headers: dict[str, str]  # lowercase names

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    @property
    def route(self) -> str:
        return urlsplit(self.path).path


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_length: bool = True  # False: no Content-Length, body ends when the connection closes
    dribble: float = 0.0  # > 0: send the body one byte at a time, this many seconds apart


Handler = Callable[[Seen], Reply]


class HttpServer:
    """A threaded HTTP/1.1 server answering with ``handler``; records every request."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _request_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def __enter__(self) -> HttpServer:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _request_handler(owner: HttpServer) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
            owner.record(seen)
            reply = owner.handler(seen)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.content_length:
                self.send_header("Content-Length", str(len(reply.body)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                try:
                    if reply.dribble:
                        for index in range(len(reply.body)):
                            self.wfile.write(reply.body[index : index + 1])
                            self.wfile.flush()
                            time.sleep(reply.dribble)  # pacing a slow server, not waiting
                    else:
                        self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _serve

    return RequestHandler


def json_reply(document: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"Content-Type": "application/json", **(headers or {})},
                 json.dumps(document).encode())


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def paginated_tags(repository: str, tags: list[str], page_size: int, *,
                   absolute: bool = False, next_url: str | None = None) -> Handler:
    """Serve ``/v2/REPO/tags/list`` in pages of ``page_size`` with ``n``/``last`` and a
    ``Link: <...>; rel="next"`` header (relative unless ``absolute``; ``next_url`` overrides)."""

    def handle(seen: Seen) -> Reply:
        if seen.route != f"/v2/{repository}/tags/list":
            return json_reply({"errors": [{"code": "NAME_UNKNOWN"}]}, 404)
        last = seen.query.get("last", [None])[0]
        start = tags.index(last) + 1 if last in tags else 0
        page = tags[start : start + page_size]
        headers = {}
        if start + page_size < len(tags):
            link = next_url or f"/v2/{repository}/tags/list?n={page_size}&last={page[-1]}"
            if absolute and next_url is None:
                link = f"http://{seen.headers['host']}{link}"
            headers["Link"] = f'<{link}>; rel="next"'
        return json_reply({"name": repository, "tags": page}, headers=headers)

    return handle


def scripted(replies: Iterable[Reply], then: Handler) -> Handler:
    """Answer with ``replies`` in order, then hand every later request to ``then``."""
    queue = list(replies)
    lock = threading.Lock()

    def handle(seen: Seen) -> Reply:
        with lock:
            if queue:
                return queue.pop(0)
        return then(seen)

    return handle


def manifest_server(repository: str, tag: str, body: bytes, media_type: str,
                    *, digest_header: bool = True) -> Handler:
    """A minimal registry serving one manifest under ``tag`` and by digest."""
    digest = sha256(body)

    def handle(seen: Seen) -> Reply:
        if seen.route in (f"/v2/{repository}/manifests/{tag}",
                          f"/v2/{repository}/manifests/{digest}"):
            headers = {"Content-Type": media_type}
            if digest_header:
                headers["Docker-Content-Digest"] = digest
            return Reply(200, headers, body)
        return json_reply({"errors": [{"code": "MANIFEST_UNKNOWN"}]}, 404)

    return handle


class RawServer(ThreadedTCPServer):
    """A TCP server on loopback that answers every request with ``answer`` as raw bytes, for
    malformed HTTP the http.server module would never send. ``answer`` is bytes, or a function
    given the connected socket (to send headers that never end, say). ``tls`` serves HTTPS
    with that server context. ``.connections`` counts the connections accepted."""

    def __init__(self, answer: bytes | Callable[[socket.socket], None], *,
                 tls: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.answer = answer
        self.tls = tls

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self, conn: socket.socket) -> None:
        if self.tls is not None:
            try:
                conn.settimeout(5)
                conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError:  # the client refused the handshake
                conn.close()
                return
        with conn:
            conn.settimeout(5)
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                if callable(self.answer):
                    self.answer(conn)
                else:
                    conn.sendall(self.answer)
                    # Hold the connection until the client gives up on it.
                    while not self._stop.is_set() and conn.recv(65536):
                        pass
            except OSError:
                return
