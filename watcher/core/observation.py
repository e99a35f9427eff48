"""What one look at a registry tells us about a tag."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# The four manifest media types. A HEAD must name all of them in Accept: a narrower Accept
# makes registries convert or pick a child, and the digest differs from the real one.
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_MEDIA_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST_V2)
INDEX_MEDIA_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)


@dataclass(frozen=True)
class ManifestObservation:
    """The digest a tag points to, and for an index the digest of each platform's manifest.

    ``platforms`` maps ``os/arch[/variant]`` (``linux/amd64``, ``linux/arm64/v8``) to the child
    manifest digest; it is empty for a single-platform manifest.
    """

    digest: str
    media_type: str
    platforms: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an image config blob that explain what changed."""

    digest: str
    created: str | None
    env: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    os: str | None = None
    architecture: str | None = None
    layers: tuple[str, ...] = ()  # rootfs.diff_ids: the layers' uncompressed digests
