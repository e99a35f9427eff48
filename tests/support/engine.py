"""A real Podman service on a Unix socket, serving the Docker Engine API, for engine tests.

``podman_engine`` (session-scoped) starts ``podman system service --time=0`` with its own
``vfs`` storage under a temporary directory and yields a :class:`PodmanEngine`: ``.url``
(``unix:///...``), ``.pull(ref)``, ``.create(name, ref, labels)``, ``.remove(name)``,
``.import_unnamed()`` (an image with no repository digest). Missing ``podman``: skipped on a
developer machine, a failure under ``CI=true``.

Images that Podman pulls must have real layers: :func:`push_runnable` and
:func:`push_runnable_index` push tiny but valid ones (a gzip'd tar of one file).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import ssl
import subprocess
import tarfile
import tempfile
import threading
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support import missing_component, wait_until
from tests.support.push import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    Pusher,
    sha256,
)

PODMAN = shutil.which("podman") or "/usr/bin/podman"


def _layer(content: bytes) -> tuple[bytes, str]:
    """A gzip'd tar holding one file: (compressed blob, diff id of the tar)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("nonce")
        info.size = len(content)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), sha256(tar_bytes)


def _runnable_manifest(pusher: Pusher, repository: str, platform: str) -> tuple[bytes, str]:
    blob, diff_id = _layer(os.urandom(16))
    layer_digest = pusher.blob(repository, blob)
    os_name, arch, *variant = platform.split("/")
    config: dict[str, object] = {
        "architecture": arch, "os": os_name, "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/nonce"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    if variant:
        config["variant"] = variant[0]
    config_bytes = json.dumps(config).encode()
    config_digest = pusher.blob(repository, config_bytes)
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": len(blob)}],
    }
    return json.dumps(manifest).encode(), OCI_MANIFEST


def push_runnable(pusher: Pusher, repository: str, tag: str | None,
                  platform: str = "linux/amd64") -> str:
    """Push a single-platform image an engine can pull; return its manifest digest."""
    body, media_type = _runnable_manifest(pusher, repository, platform)
    return pusher.put_manifest(repository, tag or sha256(body), body, media_type)


@dataclass
class PushedRunnableIndex:
    digest: str
    children: dict[str, tuple[str, int]]  # platform -> (digest, size)


def push_runnable_index(pusher: Pusher, repository: str, tag: str, platforms: Iterable[str],
                        keep: Mapping[str, tuple[str, int]] | None = None) -> PushedRunnableIndex:
    """Push an OCI index of runnable images, one per platform (``keep``: reuse those
    platforms' children as they are); return its digest and children."""
    children: dict[str, tuple[str, int]] = {}
    entries = []
    for platform in platforms:
        if keep and platform in keep:
            children[platform] = keep[platform]
        else:
            body, media_type = _runnable_manifest(pusher, repository, platform)
            children[platform] = (pusher.put_manifest(repository, sha256(body), body,
                                                      media_type), len(body))
        os_name, arch, *variant = platform.split("/")
        entry_platform = {"os": os_name, "architecture": arch}
        if variant:
            entry_platform["variant"] = variant[0]
        digest, size = children[platform]
        entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": size,
                        "platform": entry_platform})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    digest = pusher.put_manifest(repository, tag, index.encode(), OCI_INDEX)
    return PushedRunnableIndex(digest, children)


@dataclass
class PodmanEngine:
    root: Path
    socket: Path
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "service.log"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def options(self) -> list[str]:
        """Podman's global options: storage, state and events all under ``root``."""
        return ["--storage-driver", "vfs", "--root", str(self.root / "storage"),
                "--runroot", str(self.root / "run"), "--tmpdir", str(self.root / "libpod"),
                "--cgroup-manager", "cgroupfs", "--events-backend", "file"]

    def podman(self, *args: str, check: bool = True) -> str:
        command = [PODMAN, *self.options, *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed: {done.stderr}")
        return done.stdout.strip()

    def pull(self, ref: str, platform: str | None = None) -> None:
        extra = ["--platform", platform] if platform else []
        self.podman("pull", "-q", "--tls-verify=false", *extra, ref)

    def create(self, name: str, ref: str, labels: Mapping[str, str] | None = None) -> str:
        extra = [a for key, value in (labels or {}).items() for a in ("--label", f"{key}={value}")]
        return self.podman("create", "--name", name, *extra, ref, "/nonce")

    def remove(self, name: str) -> None:
        self.podman("rm", "-f", name)

    def import_unnamed(self) -> str:
        """An image imported from a tarball with no name: no repository digest; its ID."""
        tar_path = self.root / "tmp" / f"rootfs-{os.urandom(4).hex()}.tar"
        with tarfile.open(tar_path, "w") as tar:
            content = os.urandom(8)
            info = tarfile.TarInfo("nonce")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        return self.podman("import", "-q", str(tar_path)).strip()

    def start(self) -> None:
        for sub in ("storage", "run", "tmp", "libpod"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TMPDIR": str(self.root / "tmp")}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [PODMAN, *self.options, "system", "service", "--time=0", self.url],
                stdout=out, stderr=subprocess.STDOUT, env=env)
        wait_until(self._answers, timeout=60, what=f"podman service on {self.socket}")

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"podman service exited: {self.log.read_text()[-2000:]}")
        return ping(self.socket)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def ping(socket_path: Path) -> bool:
    """True when an Engine API answers ``GET /_ping`` on ``socket_path``."""
    import http.client
    import socket

    class _Connection(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(5)
            self.sock.connect(str(socket_path))

    if not socket_path.exists():
        return False
    connection = _Connection("localhost")
    try:
        connection.request("GET", "/_ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def engine_get(socket_path: Path, path: str) -> object:
    """GET an Engine API path on the socket; the decoded JSON (for assertions)."""
    import http.client
    import socket

    class _Connection(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(30)
            self.sock.connect(str(socket_path))

    connection = _Connection("localhost")
    try:
        connection.request("GET", urllib.parse.quote(path, safe="/?=&"))
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


@pytest.fixture(scope="session")
def podman_engine() -> Iterator[PodmanEngine]:
    if not os.access(PODMAN, os.X_OK):
        missing_component("podman is not installed (Debian package podman)")
    root = Path(tempfile.mkdtemp(prefix="watcher-podman-"))
    engine = PodmanEngine(root=root, socket=root / "podman.sock")
    try:
        engine.start()
        yield engine
    finally:
        engine.stop()
        shutil.rmtree(root, ignore_errors=True)


class DockerAnswers:
    """A loopback HTTP(S) server answering the Engine API as Docker Engine does where it
    differs from Podman: an image pulled from an index records only the index's digest in
    ``RepoDigests``. ``containers`` maps a name to (reference, repo digests, platform);
    ``requests`` records each path asked for; ``broken`` makes the listing not JSON."""

    def __init__(self, api_version: str = "1.45", *, tls: ssl.SSLContext | None = None) -> None:
        self.api_version = api_version
        self.containers: dict[str, tuple[str, list[str], str]] = {}
        self.requests: list[str] = []
        self.broken = False
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner.requests.append(self.path)
                status, body = owner.answer(urllib.parse.urlsplit(self.path).path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def answer(self, path: str) -> tuple[int, bytes]:
        parts = path.strip("/").split("/")
        if parts == ["version"]:
            return 200, json.dumps({"Version": "28.0.1", "ApiVersion": self.api_version,
                                    "MinAPIVersion": "1.24", "Os": "linux"}).encode()
        if parts[1:] == ["containers", "json"]:
            if self.broken:
                return 200, b"<html>not an engine</html>"
            return 200, json.dumps([
                {"Id": f"id-{name}", "Names": [f"/{name}"], "Image": ref,
                 "ImageID": f"sha256:{sha256(name.encode())[7:]}", "Labels": {},
                 "State": "running"}
                for name, (ref, _, _) in self.containers.items()]).encode()
        if len(parts) == 4 and parts[1] == "containers":
            name = parts[2].removeprefix("id-")
            return 200, json.dumps({"Name": f"/{name}", "State": {
                "Status": "running", "StartedAt": "2026-12-01T08:00:00.123456789Z"},
                "Created": "2026-12-01T07:59:59.5Z"}).encode()
        if len(parts) == 4 and parts[1] == "images":
            for name, (_, digests, platform) in self.containers.items():
                if parts[2] == f"sha256:{sha256(name.encode())[7:]}":
                    os_name, arch, *variant = platform.split("/")
                    return 200, json.dumps({"RepoDigests": digests, "Os": os_name,
                                            "Architecture": arch,
                                            "Variant": variant[0] if variant else ""}).encode()
        return 404, b'{"message": "page not found"}'

    def __enter__(self) -> DockerAnswers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
