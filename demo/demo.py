"""A whole watcher cycle, offline, in well under a minute: ``make demo``.

It starts a throwaway registry on loopback (Debian's ``docker-registry``), pushes a few
images, and runs the real ``watcher`` command against it as a user would: a baseline check,
then a base image rebuilt upstream on one platform and newer versions published, a second
check, ``status`` and ``history``. Everything it starts is stopped, everything it writes
lives in a temporary directory that is removed at the end.

Image contents are derived from their names, so the digests shown are the same on every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

REGISTRY_BINARY = os.environ.get("WATCHER_DEMO_REGISTRY", "/usr/bin/docker-registry")
PREFERRED_PORT = 5055
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

REGISTRY_CONFIG = """version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
  secret: watcher-demo
health:
  storagedriver:
    enabled: false
"""


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class DemoRegistry:
    """Pushes images over the distribution API; content is a pure function of its name."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30.0)

    def blob(self, repository: str, data: bytes) -> str:
        digest = sha256(data)
        started = self.http.post(f"/v2/{repository}/blobs/uploads/")
        started.raise_for_status()
        # The upload URL already carries a query string: add the digest to it.
        location = self.http.base_url.join(started.headers["location"])
        self.http.put(location.copy_add_param("digest", digest), content=data).raise_for_status()
        return digest

    def manifest(self, repository: str, reference: str, body: dict[str, object]) -> str:
        data = json.dumps(body, indent=2).encode()
        reply = self.http.put(f"/v2/{repository}/manifests/{reference}", content=data,
                              headers={"Content-Type": str(body["mediaType"])})
        reply.raise_for_status()
        return sha256(data)

    def image(self, repository: str, platform: str, build: str) -> dict[str, object]:
        """Push one platform's image built as ``build`` (``VERSION-NAME``); return its entry."""
        version = build.split("-")[0]
        os_name, arch, *variant = platform.split("/")
        layer = hashlib.sha512(f"{repository} {platform} {build}".encode()).digest()
        config: dict[str, object] = {
            "architecture": arch, "os": os_name,
            "config": {"Env": [f"PYTHON_VERSION={version}"]},
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
        }
        if variant:
            config["variant"] = variant[0]
        config_bytes = json.dumps(config).encode()
        manifest = {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": self.blob(repository, config_bytes),
                       "size": len(config_bytes)},
            "layers": [{"mediaType": OCI_LAYER, "digest": self.blob(repository, layer),
                        "size": len(layer)}],
        }
        digest = self.manifest(repository, sha256(json.dumps(manifest, indent=2).encode()),
                               manifest)
        entry_platform: dict[str, str] = {"architecture": arch, "os": os_name}
        if variant:
            entry_platform["variant"] = variant[0]
        size = len(json.dumps(manifest, indent=2).encode())
        return {"mediaType": OCI_MANIFEST, "digest": digest, "size": size,
                "platform": entry_platform}

    def index(self, repository: str, tags: Sequence[str], builds: dict[str, str]) -> str:
        """Push a multi-platform index (one build name per platform) under every tag."""
        entries = [self.image(repository, platform, build)
                   for platform, build in builds.items()]
        body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        digest = ""
        for tag in tags:
            digest = self.manifest(repository, tag, body)
        return digest


def free_port() -> int:
    for port in (PREFERRED_PORT, 0):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise SystemExit("demo: no free port on 127.0.0.1")


@contextmanager
def registry(workdir: Path) -> Iterator[str]:
    if not os.access(REGISTRY_BINARY, os.X_OK):
        raise SystemExit(
            f"demo: {REGISTRY_BINARY} is missing; install it with "
            "'apt-get install docker-registry' (Debian/Ubuntu) and run 'make demo' again"
        )
    port = free_port()
    storage = Path(tempfile.mkdtemp(prefix="watcher-demo-storage-",
                                    dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None))
    config = workdir / "registry.yml"
    config.write_text(REGISTRY_CONFIG.format(storage=storage, port=port))
    process = subprocess.Popen([REGISTRY_BINARY, "serve", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"{url}/v2/", timeout=1.0)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    stderr = process.stderr.read() if process.stderr else b""
                    stderr = stderr.decode(errors="replace")
                    raise SystemExit(f"demo: the registry did not start:\n{stderr}") from None
                time.sleep(0.02)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(storage, ignore_errors=True)


def say(text: str) -> None:
    print(f"\n## {text}", flush=True)


def watcher(config: Path, *args: str) -> int:
    """Run the real watcher command, printed the way a user would type it."""
    print(f"$ watcher {' '.join(args)}", flush=True)
    executable = Path(sys.executable).with_name("watcher")
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "watcher"]
    env = {**os.environ, "WATCHER_CONFIG": str(config), "NO_COLOR": "1", "COLUMNS": "110"}
    return subprocess.run([*command, *args], env=env, cwd=config.parent, check=False).returncode


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="watcher-demo-"))
    try:
        with registry(workdir) as url:
            host = url.removeprefix("http://")
            push = DemoRegistry(url)
            say(f"A local registry at {host}, with python images as upstream publishes them")
            push.index("library/python", ["3.12-slim", "3.12.7-slim"],
                       {"linux/amd64": "3.12.7-a", "linux/arm64/v8": "3.12.7-b"})
            push.index("library/python", ["3.11-slim", "3.11.10-slim"],
                       {"linux/amd64": "3.11.10-a"})
            push.index("library/python", ["3.12.7-alpine"],
                       {"linux/amd64": "3.12.7-alpine-a"})
            print("pushed python:3.12-slim (linux/amd64 + linux/arm64/v8), 3.12.7-slim, "
                  "3.11-slim, 3.11.10-slim, 3.12.7-alpine")

            config = workdir / "watcher.toml"
            config.write_text(
                "[watcher]\n"
                'database = "sqlite:///watcher.db"   # beside this file\n\n'
                f'[[registries]]\nhost = "{host}"\ninsecure = true\n\n'
                f'[[images]]\nref = "{host}/library/python:3.12-slim"\n\n'
                f'[[images]]\nref = "{host}/library/python:3.11-slim"\n'
            )
            say("Your watcher.toml tracks two base images")
            print(config.read_text().rstrip())

            say("First check: watcher records a baseline and reports nothing")
            watcher(config, "check")

            say("Upstream rebuilds 3.12-slim for arm64 only, and publishes 3.12.8 and 3.13.0")
            push.index("library/python", ["3.12-slim", "3.12.8-slim"],
                       {"linux/amd64": "3.12.7-a", "linux/arm64/v8": "3.12.8-b"})
            push.index("library/python", ["3.13-slim", "3.13.0-slim"],
                       {"linux/amd64": "3.13.0-a", "linux/arm64/v8": "3.13.0-b"})

            say("Second check: what changed since the first? (--list-tags: look for new "
                "tags now, not at the next tags_interval)")
            watcher(config, "check", "--list-tags")

            say("What needs attention, most urgent first (exit status 1 for a CI gate)")
            status = watcher(config, "status", "--exit-code")
            print(f"(exit status {status})")

            say("The story of one image")
            watcher(config, "history", f"{host}/library/python:3.12-slim")

            say("You rebuilt on the new base: acknowledge it")
            watcher(config, "ack", f"{host}/library/python:3.12-slim")
            watcher(config, "status")
        say("Done: the registry is stopped and the temporary files are removed")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
