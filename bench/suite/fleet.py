"""A registry for the benchmark and the tags it serves.

The registry is the Debian ``docker-registry`` on loopback, storage on tmpfs, ``GOGC=400``,
its access log on (written to a file, so every request a round makes can be counted).

Tags are pushed concurrently over the HTTP API: one layer and one config blob uploaded once
to a seed repository and mounted into every other (cross-repository mount), four child
manifests per repository pushed by digest, then one manifest PUT per tag. Tags cycle through
OCI index, Docker manifest list, OCI manifest and Docker schema2 manifest; each carries its
own annotation, so every tag has its own digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.support import free_port
from tests.support.push import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
)
from tests.support.registry import RunningRegistry

TAGS_PER_REPOSITORY = 10
SEED = "bench/seed"
KINDS = (OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
_STORAGE_ROOT = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
_REQUEST = re.compile(rb'"(HEAD|GET|PUT|POST|DELETE|PATCH) (\S+) HTTP')

CONFIG = """version: 0.1
log:
  level: warn
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
  secret: watcher-bench-secret
health:
  storagedriver:
    enabled: false
"""


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def repository(index: int) -> str:
    return f"bench/r{index:05}"


def tag(index: int) -> str:
    return f"1.{index}.0"


@dataclass
class Fleet:
    """The registry and the tags pushed so far (``refs`` in push order)."""

    registry: RunningRegistry
    refs: list[str] = field(default_factory=list)
    repositories: int = 0
    _children: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    _log_offset: int = 0
    _moves: int = 0

    @property
    def host(self) -> str:
        return self.registry.host

    @property
    def log(self) -> Path:
        return self.registry.directory / "registry.log"

    # -- requests seen by the registry --------------------------------------------------------

    def mark(self) -> None:
        """Forget the requests logged so far; :meth:`requests` counts from here."""
        self._log_offset = self.log.stat().st_size

    def requests(self) -> Counter[str]:
        """Requests since :meth:`mark`, by kind: ``HEAD manifest``, ``GET manifest``,
        ``GET tags``, ``other``."""
        with self.log.open("rb") as handle:
            handle.seek(self._log_offset)
            data = handle.read()
        counts: Counter[str] = Counter()
        for method, path in _REQUEST.findall(data):
            if b"/manifests/" in path:
                counts[f"{method.decode()} manifest"] += 1
            elif path.endswith(b"/tags/list") or b"/tags/list?" in path:
                counts["GET tags"] += 1
            else:
                counts["other"] += 1
        return counts

    # -- pushing ------------------------------------------------------------------------------

    def grow(self, tags: int, concurrency: int = 24) -> None:
        """Push tags (in whole repositories) until ``tags`` are tracked."""
        asyncio.run(self._grow(tags, concurrency))

    def move(self, refs: Iterable[str], concurrency: int = 24) -> None:
        """Point each ref's tag at a new manifest of the same kind."""
        asyncio.run(self._move(list(refs), concurrency))

    async def _grow(self, tags: int, concurrency: int) -> None:
        async with aiohttp.ClientSession(f"http://{self.host}") as http:
            if not self.repositories:
                await self._seed(http)
            wanted = -(-tags // TAGS_PER_REPOSITORY)
            new = list(range(self.repositories, wanted))
            await _bounded(concurrency, (self._push_repository(http, i) for i in new))
            self.repositories = max(self.repositories, wanted)
            self.refs = [f"{self.host}/{repository(r)}:{tag(t)}"
                         for r in range(self.repositories)
                         for t in range(TAGS_PER_REPOSITORY)][:tags]

    async def _move(self, refs: list[str], concurrency: int) -> None:
        self._moves += 1
        async with aiohttp.ClientSession(f"http://{self.host}") as http:
            jobs = []
            for ref in refs:
                name, tag_name = ref.split("/", 1)[1].rsplit(":", 1)
                index = int(tag_name.split(".")[1])
                jobs.append(self._put_tag(http, name, index, f"moved-{self._moves}"))
            await _bounded(concurrency, jobs)

    async def _seed(self, http: aiohttp.ClientSession) -> None:
        self._layer = os.urandom(64)
        config = {"architecture": "amd64", "os": "linux",
                  "rootfs": {"type": "layers", "diff_ids": [sha256(self._layer)]}}
        self._config = json.dumps(config).encode()
        for data in (self._layer, self._config):
            async with http.post(f"/v2/{SEED}/blobs/uploads/") as started:
                assert started.status == 202, await started.text()
                location = started.headers["Location"]
            joiner = "&" if "?" in location else "?"
            async with http.put(f"{location}{joiner}digest={sha256(data)}", data=data,
                                headers={"Content-Type": "application/octet-stream"}) as done:
                assert done.status == 201, await done.text()

    def _manifest(self, oci: bool, platform: str, note: str) -> tuple[bytes, str]:
        media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
        body = {"schemaVersion": 2, "mediaType": media_type,
                "config": {"mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
                           "digest": sha256(self._config), "size": len(self._config)},
                "layers": [{"mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                            "digest": sha256(self._layer), "size": len(self._layer)}],
                "annotations": {"bench.platform": platform, "bench.note": note}}
        return json.dumps(body).encode(), media_type

    async def _push_repository(self, http: aiohttp.ClientSession, index: int) -> None:
        name = repository(index)
        for data in (self._layer, self._config):
            async with http.post(f"/v2/{name}/blobs/uploads/?mount={sha256(data)}&from={SEED}"
                                 ) as mounted:
                assert mounted.status == 201, await mounted.text()
        children: list[dict[str, object]] = []
        for oci in (True, False):
            for platform in ("linux/amd64", "linux/arm64/v8"):
                body, media_type = self._manifest(oci, platform, name)
                await _put(http, name, sha256(body), body, media_type)
                os_name, arch, *variant = platform.split("/")
                entry: dict[str, object] = {
                    "mediaType": media_type, "digest": sha256(body), "size": len(body),
                    "platform": {"os": os_name, "architecture": arch,
                                 **({"variant": variant[0]} if variant else {})}}
                children.append(entry)
        self._children[name] = children
        for t in range(TAGS_PER_REPOSITORY):
            await self._put_tag(http, name, t, "first")

    async def _put_tag(self, http: aiohttp.ClientSession, name: str, index: int,
                       note: str) -> None:
        kind = KINDS[index % len(KINDS)]
        label = f"{name}:{tag(index)}:{note}"
        if kind in (OCI_INDEX, DOCKER_LIST):
            oci = kind == OCI_INDEX
            children = self._children[name][:2] if oci else self._children[name][2:]
            body = json.dumps({"schemaVersion": 2, "mediaType": kind, "manifests": children,
                               "annotations": {"bench.note": label}}).encode()
        else:
            body, kind = self._manifest(kind == OCI_MANIFEST, "linux/amd64", label)
        await _put(http, name, tag(index), body, kind)


async def _put(http: aiohttp.ClientSession, name: str, reference: str, body: bytes,
               media_type: str) -> None:
    async with http.put(f"/v2/{name}/manifests/{reference}", data=body,
                        headers={"Content-Type": media_type}) as reply:
        assert reply.status == 201, (name, reference, reply.status, await reply.text())


async def _bounded(concurrency: int, jobs: Iterable[object]) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(job: object) -> None:
        async with semaphore:
            await job  # type: ignore[misc]

    await asyncio.gather(*(one(job) for job in jobs))


def start_fleet() -> Fleet:
    """Start the benchmark's registry (empty); stop it with ``fleet.registry.close()``."""
    directory = Path(tempfile.mkdtemp(prefix="watcher-bench-registry-", dir=_STORAGE_ROOT))
    (directory / "config.yml").write_text(CONFIG.format(storage=directory / "storage"))
    registry = RunningRegistry("open", directory, free_port())
    try:
        registry.start()
    except BaseException:
        registry.close()
        raise
    return Fleet(registry)
