"""SBOMs attached to an index as BuildKit attestation manifests: fetched, bounded, cached.

Only the index, the attestation manifest and its SBOM statement are read (never a layer of
the image itself), each at most ``max_bytes``; the packages found are cached by the
attestation manifest's digest (content-addressed: what a digest says never changes).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from watcher.core.reference import ImageReference
from watcher.core.sbom import SbomError, attestation_for, sbom_layers, statement_packages
from watcher.errors import InvalidResponse
from watcher.registry.client import RegistryClient

MAX_SBOM_BYTES = 16 * 1024 * 1024  # an SBOM of a large image is a few MiB
CACHED_SBOMS = 64


class SbomCache:
    """Packages by attestation manifest digest, the ``size`` most recently used."""

    def __init__(self, size: int = CACHED_SBOMS) -> None:
        self._size = size
        self._entries: OrderedDict[str, dict[str, str] | None] = OrderedDict()

    def get(self, digest: str) -> tuple[bool, dict[str, str] | None]:
        if digest not in self._entries:
            return False, None
        self._entries.move_to_end(digest)
        return True, self._entries[digest]

    def put(self, digest: str, packages: dict[str, str] | None) -> None:
        self._entries[digest] = packages
        self._entries.move_to_end(digest)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


async def index_document(client: RegistryClient, ref: ImageReference,
                         digest: str) -> dict[str, Any] | None:
    """The index ``digest`` as JSON, or None when it is not an index."""
    body, _ = await client.manifest(ref, digest)
    document = _json(body, f"index {digest}", ref)
    return document if isinstance(document.get("manifests"), list) else None


async def sbom_packages(
    client: RegistryClient,
    ref: ImageReference,
    index: dict[str, Any],
    image_digest: str,
    *,
    cache: SbomCache,
    max_bytes: int = MAX_SBOM_BYTES,
) -> dict[str, str] | None:
    """Package name -> version from the SBOM the index attests for ``image_digest``; None
    when it has none (or none watcher can read: an SPDX or CycloneDX statement)."""
    attestation = attestation_for(index, image_digest)
    if attestation is None:
        return None
    known, packages = cache.get(attestation)
    if known:
        return packages
    pinned = replace(ref, tag=None, digest=attestation)
    body, _ = await client.manifest(pinned, attestation)
    packages = None
    for layer in sbom_layers(_json(body, f"attestation manifest {attestation}", ref)):
        if layer.size > max_bytes:
            continue
        statement = await client.blob(pinned, layer.digest, max_bytes)
        try:
            packages = statement_packages(statement)
        except SbomError:
            continue
        break
    cache.put(attestation, packages)
    return packages


def _json(body: bytes, what: str, ref: ImageReference) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidResponse(f"{what} is not valid JSON: {exc}", registry=ref.registry,
                              reference=str(ref)) from None
    if not isinstance(document, dict):
        raise InvalidResponse(f"{what} is not a JSON object", registry=ref.registry,
                              reference=str(ref))
    return document
