"""Pytest fixtures that run a real CNCF distribution registry on loopback.

Session-scoped, one process per mode, started on first use:

- ``registry_open``: no authentication;
- ``registry_htpasswd``: HTTP Basic (bcrypt cost 4), user ``alice`` / ``wonderland``;
- ``registry_token``: Docker-style token auth against :class:`TokenServer` (anonymous pull
  allowed; ``alice`` / ``wonderland`` may push). ``.token_server.requests`` counts tokens.
- ``registry_tls``: no authentication, HTTPS with a certificate from the session's
  :class:`~tests.support.tls.TestCA` (``.tls.ca`` is its PEM file);
- ``registry_mtls``: the same, and the registry asks for a client certificate issued by that
  CA (``.tls.client``);
- ``registry_tls_token``: HTTPS, with token auth against a token server on plain HTTP.

Each yields a :class:`RunningRegistry`: ``.host`` (``127.0.0.1:PORT``), ``.url``,
``.credentials()`` (watcher Credentials or None), ``.settings(**overrides)`` (RegistrySettings
with ``insecure=True``), ``.push`` (a :class:`~tests.support.push.Pusher` holding push rights),
``.ref(repository, tag)`` and ``.stop()`` / ``.start()`` (same port, same storage).

``repository`` is function-scoped: a fresh repository name per test, so tests never interfere.

    def test_something(registry_token, repository):
        pushed = registry_token.push.push_index(repository, "1", ["linux/amd64", "linux/arm64/v8"])
        ref = registry_token.ref(repository, "1")
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import httpx
import pytest

from tests.support import free_port, missing_component
from tests.support.push import Pusher
from tests.support.tls import Issued, TestCA
from tests.support.tokenserver import ISSUER, SERVICE, TokenServer
from watcher.core.reference import ImageReference
from watcher.registry import Credentials, RegistrySettings
from watcher.registry.tls import load_tls

REGISTRY_BINARY = os.environ.get("WATCHER_TEST_REGISTRY", "/usr/bin/docker-registry")
USERNAME, PASSWORD = "alice", "wonderland"
_STORAGE_ROOT = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
_counter = itertools.count()
TLS_MODES = ("tls", "mtls", "tls-token")
_CA: TestCA | None = None


def session_ca() -> TestCA:
    """The CA of this test session: it signs every TLS registry's certificate."""
    global _CA
    if _CA is None:
        _CA = TestCA()
    return _CA


@dataclass(frozen=True)
class RegistryTls:
    """A TLS registry's files: the CA that signed it, its own certificate, a client one."""

    ca: Path
    server: Issued
    client: Issued

    def context(self) -> ssl.SSLContext:
        """A client context trusting the CA and presenting the client certificate."""
        context = ssl.create_default_context(cafile=str(self.ca))
        context.load_cert_chain(self.client.cert, self.client.key)
        return context


def _tls_config(mode: str, tls: RegistryTls | None) -> str:
    if tls is None:
        return ""
    text = (f"  tls:\n    certificate: {tls.server.cert}\n    key: {tls.server.key}\n")
    if mode == "mtls":
        text += f"    clientcas:\n      - {tls.ca}\n"
    return text


def _config(mode: str, storage: Path, extra_auth: str, tls: RegistryTls | None = None,
            extra: str = "") -> str:
    return f"""version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  secret: watcher-test-secret-{mode}
{_tls_config(mode, tls)}health:
  storagedriver:
    enabled: false
{extra_auth}{extra}"""


@dataclass
class RunningRegistry:
    """A registry process started by the tests; see the module docstring."""

    mode: str
    directory: Path
    port: int
    token_server: TokenServer | None = None
    tls: RegistryTls | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _pusher: Pusher | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def authenticated(self) -> bool:
        return self.mode in ("htpasswd", "token", "tls-token")

    @property
    def username(self) -> str | None:
        return USERNAME if self.authenticated else None

    @property
    def password(self) -> str | None:
        return PASSWORD if self.authenticated else None

    def credentials(self) -> Credentials | None:
        """Valid credentials for this registry (None without authentication)."""
        if not self.authenticated:
            return None
        return Credentials(username=USERNAME, password=PASSWORD)

    def settings(self, **overrides: object) -> RegistrySettings:
        """RegistrySettings for this registry: plain HTTP allowed (a TLS registry: its CA
        trusted and, for ``mtls``, the client certificate), valid credentials."""
        values: dict[str, object] = {"host": self.host, "insecure": True,
                                     "credentials": self.credentials()}
        if self.tls is not None:
            client = self.tls.client if self.mode == "mtls" else None
            values.update(insecure=False, tls=load_tls(
                ca_file=str(self.tls.ca), client_cert=str(client.cert) if client else None,
                client_key=str(client.key) if client else None,
            ))
        values.update(overrides)
        return RegistrySettings(**values)  # type: ignore[arg-type]

    def ref(self, repository: str, tag: str | None = "latest",
            digest: str | None = None) -> ImageReference:
        return ImageReference(self.host, repository, tag, digest)

    @property
    def push(self) -> Pusher:
        """A Pusher with push rights on this registry."""
        if self._pusher is None:
            self._pusher = Pusher(self.url, username=self.username, password=self.password,
                                  verify=self.tls.context() if self.tls else True)
        return self._pusher

    # -- process control ----------------------------------------------------------------------

    def start(self) -> None:
        """Start (or restart) the registry on the same port and storage; wait until it answers."""
        if self.process is not None and self.process.poll() is None:
            return
        env = {**os.environ, "GOGC": "400", "REGISTRY_HTTP_ADDR": self.host}
        log = (self.directory / "registry.log").open("ab")
        self.process = subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(self.directory / "config.yml")],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + 15
        while not self._answers():
            if self.process.poll() is not None:
                text = (self.directory / "registry.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"registry ({self.mode}) exited: {text}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"registry ({self.mode}) did not answer on {self.url}")
            time.sleep(0.01)

    def stop(self, *, kill: bool = False) -> None:
        """Stop the process we started (terminate, then kill after a deadline).

        ``kill=True`` kills at once, as a crashed or unplugged registry would vanish.
        """
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        if kill:
            process.kill()
            process.wait(timeout=5)
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def _answers(self) -> bool:
        try:
            httpx.get(f"{self.url}/v2/", timeout=0.5,
                      verify=self.tls.context() if self.tls else True)
        except httpx.TransportError:
            return False
        return True

    def close(self) -> None:
        """Stop everything and remove the storage and config."""
        if self._pusher is not None:
            self._pusher.close()
        self.stop()
        if self.token_server is not None:
            self.token_server.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_registry(mode: str, *, extra: str = "") -> RunningRegistry:
    """Start a registry in ``mode`` (open, htpasswd, token, tls, mtls, tls-token) with its own
    config and storage; ``extra`` is more of its YAML config (``notifications:``, say)."""
    if not os.access(REGISTRY_BINARY, os.X_OK):
        missing_component(f"{REGISTRY_BINARY} is missing (apt-get install docker-registry)")
    directory = Path(tempfile.mkdtemp(prefix=f"watcher-registry-{mode}-", dir=_STORAGE_ROOT))
    token_server = None
    auth = ""
    if mode == "htpasswd":
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        (directory / "htpasswd").write_text(f"{USERNAME}:{hashed}\n")
        auth = (f"auth:\n  htpasswd:\n    realm: watcher-test-basic\n"
                f"    path: {directory / 'htpasswd'}\n")
    elif mode in ("token", "tls-token"):
        token_server = TokenServer(directory, users={USERNAME: PASSWORD})
        token_server.start()
        auth = (f"auth:\n  token:\n    realm: {token_server.realm}\n    service: {SERVICE}\n"
                f"    issuer: {ISSUER}\n    rootcertbundle: {token_server.rootcertbundle}\n")
    elif mode not in ("open", "tls", "mtls"):
        raise ValueError(f"unknown registry mode {mode!r}")
    tls = None
    if mode in TLS_MODES:
        ca = session_ca()
        tls = RegistryTls(ca.write(directory / "ca.pem"), ca.issue(directory, "registry"),
                          ca.issue(directory, "client", client=True))
    (directory / "config.yml").write_text(_config(mode, directory / "storage", auth, tls, extra))
    running = RunningRegistry(mode, directory, free_port(), token_server, tls)
    try:
        running.start()
    except BaseException:
        running.close()
        raise
    return running


class RegistryFactory:
    """Starts each mode once per session; stops them all at the end."""

    def __init__(self) -> None:
        self._running: dict[str, RunningRegistry] = {}

    def __call__(self, mode: str) -> RunningRegistry:
        if mode not in self._running:
            self._running[mode] = start_registry(mode)
        running = self._running[mode]
        running.start()  # a test may have stopped it
        return running

    def close(self) -> None:
        for running in self._running.values():
            running.close()


@pytest.fixture(scope="session")
def registry_factory() -> Iterator[RegistryFactory]:
    """``registry_factory("open" | "htpasswd" | "token" | "tls" | "mtls" | "tls-token")`` →
    a session-wide RunningRegistry."""
    factory = RegistryFactory()
    yield factory
    factory.close()


@pytest.fixture
def registry_open(registry_factory: RegistryFactory) -> RunningRegistry:
    return registry_factory("open")


@pytest.fixture
def registry_htpasswd(registry_factory: RegistryFactory) -> RunningRegistry:
    return registry_factory("htpasswd")


@pytest.fixture
def registry_token(registry_factory: RegistryFactory) -> RunningRegistry:
    running = registry_factory("token")
    assert running.token_server is not None
    running.token_server.allow_anonymous = True
    return running


@pytest.fixture
def registry_tls(registry_factory: RegistryFactory) -> RunningRegistry:
    return registry_factory("tls")


@pytest.fixture
def registry_mtls(registry_factory: RegistryFactory) -> RunningRegistry:
    return registry_factory("mtls")


@pytest.fixture
def registry_tls_token(registry_factory: RegistryFactory) -> RunningRegistry:
    running = registry_factory("tls-token")
    assert running.token_server is not None
    running.token_server.allow_anonymous = True
    return running


@pytest.fixture
def repository(request: pytest.FixtureRequest) -> str:
    """A repository name no other test uses: ``test/<test-name>-<n>``."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60] or "t"
    return f"test/{name}-{next(_counter)}"


class CountingTransport(httpx.AsyncBaseTransport):
    """Wraps a transport and records every request (method, URL, headers) it sends.

    ``RegistryClient(..., transport=CountingTransport())`` counts what the client really sends.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        from watcher.registry.transport import default_transport

        self.inner = inner or default_transport()
        self.requests: list[httpx.Request] = []

    def count(self, method: str | None = None, host: str | None = None) -> int:
        return sum(1 for r in self.requests
                   if (method is None or r.method == method)
                   and (host is None or r.url.netloc.decode() == host))

    def reset(self) -> None:
        self.requests.clear()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
