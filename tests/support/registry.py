"""Pytest fixtures that run a real CNCF distribution registry on loopback.

Session-scoped, one process per mode, started on first use:

- ``registry_open``: no authentication;
- ``registry_htpasswd``: HTTP Basic (bcrypt cost 4), user ``alice`` / ``wonderland``;
- ``registry_token``: Docker-style token auth against :class:`TokenServer` (anonymous pull
  allowed; ``alice`` / ``wonderland`` may push). ``.token_server.requests`` counts tokens.

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
from tests.support.tokenserver import ISSUER, SERVICE, TokenServer
from watcher.core.reference import ImageReference
from watcher.registry import Credentials, RegistrySettings

REGISTRY_BINARY = os.environ.get("WATCHER_TEST_REGISTRY", "/usr/bin/docker-registry")
USERNAME, PASSWORD = "alice", "wonderland"
_STORAGE_ROOT = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
_counter = itertools.count()


def _config(mode: str, storage: Path, extra_auth: str) -> str:
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
health:
  storagedriver:
    enabled: false
{extra_auth}"""


@dataclass
class RunningRegistry:
    """A registry process started by the tests; see the module docstring."""

    mode: str
    directory: Path
    port: int
    token_server: TokenServer | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _pusher: Pusher | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def username(self) -> str | None:
        return None if self.mode == "open" else USERNAME

    @property
    def password(self) -> str | None:
        return None if self.mode == "open" else PASSWORD

    def credentials(self) -> Credentials | None:
        """Valid credentials for this registry (None in ``open`` mode)."""
        if self.mode == "open":
            return None
        return Credentials(username=USERNAME, password=PASSWORD)

    def settings(self, **overrides: object) -> RegistrySettings:
        """RegistrySettings for this registry: plain HTTP allowed, valid credentials."""
        values: dict[str, object] = {"host": self.host, "insecure": True,
                                     "credentials": self.credentials()}
        values.update(overrides)
        return RegistrySettings(**values)  # type: ignore[arg-type]

    def ref(self, repository: str, tag: str | None = "latest",
            digest: str | None = None) -> ImageReference:
        return ImageReference(self.host, repository, tag, digest)

    @property
    def push(self) -> Pusher:
        """A Pusher with push rights on this registry."""
        if self._pusher is None:
            self._pusher = Pusher(self.url, username=self.username, password=self.password)
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
            httpx.get(f"{self.url}/v2/", timeout=0.5)
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


def start_registry(mode: str) -> RunningRegistry:
    """Start a registry in ``mode`` (open, htpasswd, token) with its own config and storage."""
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
    elif mode == "token":
        token_server = TokenServer(directory, users={USERNAME: PASSWORD})
        token_server.start()
        auth = (f"auth:\n  token:\n    realm: {token_server.realm}\n    service: {SERVICE}\n"
                f"    issuer: {ISSUER}\n    rootcertbundle: {token_server.rootcertbundle}\n")
    elif mode != "open":
        raise ValueError(f"unknown registry mode {mode!r}")
    (directory / "config.yml").write_text(_config(mode, directory / "storage", auth))
    running = RunningRegistry(mode, directory, free_port(), token_server)
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
    """``registry_factory("open" | "htpasswd" | "token")`` → a session-wide RunningRegistry."""
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
