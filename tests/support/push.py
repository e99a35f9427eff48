"""Push test images to a registry over its HTTP API (no docker, no skopeo).

    pusher = Pusher("http://127.0.0.1:5055", username="alice", password="wonderland")
    digest = pusher.push_image("team/app", "1.0")                          # OCI, linux/amd64
    digest = pusher.push_image("team/app", "1.0", oci=False)               # Docker schema2
    index = pusher.push_index("team/base", "3", ["linux/amd64", "linux/arm64/v8"])
    index.digest, index.children["linux/arm64/v8"]
    newer = pusher.repush_index("team/base", "3", index, changed="linux/arm64/v8")
    pusher.delete("team/app", digest)

Every image gets a random layer and a config carrying a random label, so every push yields new
digests. Returned digests are sha256 of the exact bytes PUT, as the registry reports them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import ssl
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ATTESTATION_TYPE = "vnd.docker.reference.type"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: str | None = None

    def as_json(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest,
                                 "size": self.size}
        if self.platform:
            os_name, arch, *variant = self.platform.split("/")
            entry["platform"] = {"architecture": arch, "os": os_name}
            if variant:
                entry["platform"]["variant"] = variant[0]
        entry.update(extra or {})
        return entry


@dataclass(frozen=True)
class PushedIndex:
    """An index (or manifest list) as pushed: its digest and each platform's child digest."""

    digest: str
    media_type: str
    children: dict[str, str]
    descriptors: dict[str, Descriptor] = field(repr=False, default_factory=dict)


class _RegistryAuth(httpx.Auth):
    """Basic or Bearer (token server, scope ``pull,push``) as the registry's 401 asks."""

    def __init__(self, username: str | None, password: str | None) -> None:
        self._basic = (username, password) if username and password is not None else None
        self._tokens: dict[str, str] = {}

    def _scope(self, request: httpx.Request) -> str:
        match = re.match(r"/v2/(.+?)/(?:blobs|manifests|tags)/", request.url.path)
        return f"repository:{match.group(1)}:pull,push,delete" if match else ""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        scope = self._scope(request)
        if scope in self._tokens:
            request.headers["Authorization"] = f"Bearer {self._tokens[scope]}"
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("www-authenticate", "")
        if challenge.lower().startswith("basic") and self._basic:
            token = base64.b64encode(f"{self._basic[0]}:{self._basic[1]}".encode()).decode()
            request.headers["Authorization"] = f"Basic {token}"
        elif challenge.lower().startswith("bearer"):
            params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
            reply = httpx.get(params["realm"], params={"service": params.get("service", ""),
                                                       "scope": scope}, auth=self._basic)
            reply.raise_for_status()
            self._tokens[scope] = reply.json()["token"]
            request.headers["Authorization"] = f"Bearer {self._tokens[scope]}"
        else:
            return
        yield request


class Pusher:
    """Pushes blobs, images, indexes; moves tags; deletes manifests. Close it (or use ``with``)."""

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 verify: ssl.SSLContext | bool = True):
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, auth=_RegistryAuth(username, password),
                                  timeout=30.0, verify=verify)

    def __enter__(self) -> Pusher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- blobs and manifests ------------------------------------------------------------------

    def blob(self, repository: str, data: bytes) -> str:
        """Upload ``data`` as a blob (monolithic POST + PUT); return its digest."""
        digest = sha256(data)
        started = self._http.post(f"/v2/{repository}/blobs/uploads/")
        _check(started, 202)
        # The Location already has a query string (?_state=...): add to it, never replace it.
        location = httpx.URL(self.url).join(started.headers["location"])
        done = self._http.put(location.copy_add_param("digest", digest), content=data,
                              headers={"Content-Type": "application/octet-stream"})
        _check(done, 201)
        return digest

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """PUT ``body`` under a tag or digest; return the registry's digest for it."""
        reply = self._http.put(f"/v2/{repository}/manifests/{reference}", content=body,
                               headers={"Content-Type": media_type})
        _check(reply, 201)
        digest = reply.headers.get("docker-content-digest") or sha256(body)
        assert digest == sha256(body), (digest, sha256(body))
        return digest

    def delete(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest (this removes every tag pointing at it)."""
        _check(self._http.delete(f"/v2/{repository}/manifests/{digest}"), 202)

    # -- images -------------------------------------------------------------------------------

    def image_manifest(
        self, repository: str, *, oci: bool = True, platform: str = "linux/amd64",
        labels: Mapping[str, str] | None = None, env: Iterable[str] = (),
        created: str = "2024-01-01T00:00:00Z",
    ) -> tuple[bytes, str]:
        """Upload a random layer and config; return (manifest bytes, media type), not yet PUT."""
        layer = os.urandom(64)
        layer_digest = self.blob(repository, layer)
        os_name, arch, *variant = platform.split("/")
        config: dict[str, Any] = {
            "architecture": arch, "os": os_name, "created": created,
            "config": {"Env": list(env) or ["PATH=/usr/bin"],
                       "Labels": {"nonce": os.urandom(8).hex(), **(labels or {})}},
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
        }
        if variant:
            config["variant"] = variant[0]
        config_bytes = json.dumps(config).encode()
        config_digest = self.blob(repository, config_bytes)
        media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
        manifest = {
            "schemaVersion": 2, "mediaType": media_type,
            "config": {"mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
                       "digest": config_digest, "size": len(config_bytes)},
            "layers": [{"mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                        "digest": layer_digest, "size": len(layer)}],
        }
        return json.dumps(manifest, indent=3).encode(), media_type

    def push_image(self, repository: str, tag: str | None = None, *, oci: bool = True,
                   platform: str = "linux/amd64", labels: Mapping[str, str] | None = None,
                   env: Iterable[str] = ()) -> str:
        """Push a random single-platform image (OCI, or Docker schema2 with ``oci=False``)
        under ``tag`` (by digest only when ``tag`` is None); return the manifest digest."""
        body, media_type = self.image_manifest(repository, oci=oci, platform=platform,
                                               labels=labels, env=env)
        return self.put_manifest(repository, tag or sha256(body), body, media_type)

    def move_tag(self, repository: str, tag: str, *, oci: bool = True) -> str:
        """Point ``tag`` at a new random single-platform image; return its digest."""
        return self.push_image(repository, tag, oci=oci)

    def push_index(
        self, repository: str, tag: str | None, platforms: Iterable[str], *, oci: bool = True,
        attestations: bool = False, reuse: Mapping[str, Descriptor] | None = None,
    ) -> PushedIndex:
        """Push one random image per platform, then an OCI index (or with ``oci=False`` a Docker
        manifest list) under ``tag``. ``attestations`` adds BuildKit-style ``unknown/unknown``
        attestation entries. ``reuse`` keeps the given platforms' existing children."""
        descriptors: dict[str, Descriptor] = {}
        entries: list[dict[str, Any]] = []
        for platform in platforms:
            descriptor = (reuse or {}).get(platform)
            if descriptor is None:
                body, media_type = self.image_manifest(repository, oci=oci, platform=platform)
                digest = self.put_manifest(repository, sha256(body), body, media_type)
                descriptor = Descriptor(media_type, digest, len(body), platform)
            descriptors[platform] = descriptor
            entries.append(descriptor.as_json())
            if attestations and oci:
                body, media_type = self.image_manifest(repository, platform="unknown/unknown")
                digest = self.put_manifest(repository, sha256(body), body, media_type)
                entries.append(Descriptor(media_type, digest, len(body), "unknown/unknown")
                               .as_json({"annotations": {
                                   ATTESTATION_TYPE: "attestation-manifest",
                                   "vnd.docker.reference.digest": descriptor.digest}}))
        media_type = OCI_INDEX if oci else DOCKER_LIST
        index = json.dumps({"schemaVersion": 2, "mediaType": media_type,
                            "manifests": entries}, indent=3).encode()
        digest = self.put_manifest(repository, tag or sha256(index), index, media_type)
        children = {platform: d.digest for platform, d in descriptors.items()}
        return PushedIndex(digest, media_type, children, descriptors)

    def push_attested_index(
        self, repository: str, tags: Iterable[str], platforms: Iterable[str], *,
        env: Iterable[str], packages: Mapping[str, str], sbom: str = "spdx",
        statement: bytes | None = None,
    ) -> PushedIndex:
        """An OCI index as BuildKit pushes it with ``--sbom``: one image per platform (its
        config carrying ``env``), and per platform an attestation manifest whose layer is an
        in-toto statement with an SPDX (or, with ``sbom="cyclonedx"``, a CycloneDX)
        predicate listing ``packages``; ``statement`` replaces that statement's bytes (to push
        a broken one). The same index goes under every tag of ``tags``."""
        descriptors: dict[str, Descriptor] = {}
        entries: list[dict[str, Any]] = []
        for platform in platforms:
            body, media_type = self.image_manifest(repository, platform=platform, env=env)
            digest = self.put_manifest(repository, sha256(body), body, media_type)
            descriptor = descriptors[platform] = Descriptor(media_type, digest, len(body),
                                                            platform)
            entries.append(descriptor.as_json())
            entries.append(self._attestation(repository, digest, packages, sbom, statement))
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                            "manifests": entries}, indent=3).encode()
        digest = sha256(index)
        for tag in tags:
            self.put_manifest(repository, tag, index, OCI_INDEX)
        return PushedIndex(digest, OCI_INDEX, {p: d.digest for p, d in descriptors.items()},
                           descriptors)

    def _attestation(self, repository: str, subject: str, packages: Mapping[str, str],
                     sbom: str, raw: bytes | None = None) -> dict[str, Any]:
        if sbom == "spdx":
            predicate_type = "https://spdx.dev/Document"
            predicate: dict[str, Any] = {
                "spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT",
                "packages": [{"SPDXID": f"SPDXRef-{i}", "name": name, "versionInfo": version}
                             for i, (name, version) in enumerate(packages.items())]}
        else:
            predicate_type = "https://cyclonedx.org/bom"
            predicate = {"bomFormat": "CycloneDX", "specVersion": "1.5",
                         "components": [{"type": "library", "name": name, "version": version}
                                        for name, version in packages.items()]}
        statement = json.dumps({
            "_type": "https://in-toto.io/Statement/v0.1", "predicateType": predicate_type,
            "subject": [{"name": "image", "digest": {"sha256": subject.split(":", 1)[1]}}],
            "predicate": predicate}).encode() if raw is None else raw
        layer = self.blob(repository, statement)
        config = self.blob(repository, b"{}")
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config, "size": 2},
            "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": layer,
                        "size": len(statement),
                        "annotations": {"in-toto.io/predicate-type": predicate_type}}],
        }).encode()
        digest = self.put_manifest(repository, sha256(manifest), manifest, OCI_MANIFEST)
        return Descriptor(OCI_MANIFEST, digest, len(manifest), "unknown/unknown").as_json(
            {"annotations": {ATTESTATION_TYPE: "attestation-manifest",
                             "vnd.docker.reference.digest": subject}})

    def repush_index(self, repository: str, tag: str, previous: PushedIndex, *,
                     changed: str) -> PushedIndex:
        """Re-push ``previous`` under ``tag`` with only the ``changed`` platform's child new."""
        keep = {p: d for p, d in previous.descriptors.items() if p != changed}
        return self.push_index(repository, tag, list(previous.descriptors),
                               oci=previous.media_type == OCI_INDEX, reuse=keep)


def _check(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise AssertionError(
            f"{response.request.method} {response.request.url.path}: expected {status}, "
            f"got {response.status_code}: {response.text[:500]}"
        )
