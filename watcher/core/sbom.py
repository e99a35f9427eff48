"""The packages of an image, from its SBOM attestation, and what changed between two of them.

BuildKit attaches SBOMs to an index as attestation manifests (index entries annotated
``vnd.docker.reference.type = attestation-manifest``, pointing with
``vnd.docker.reference.digest`` at the platform image they describe). Their layers are
in-toto statements whose predicate is an SPDX document (``packages[].name``/``versionInfo``)
or a CycloneDX BOM (``components[].name``/``version``, nested ``components`` too).

Pure: the bodies are fetched by :mod:`watcher.registry.attestations`. Odd documents give
fewer packages, never an exception: an SBOM is a hint, not a contract.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ATTESTATION_TYPE = "vnd.docker.reference.type"
ATTESTATION_MANIFEST = "attestation-manifest"
ATTESTATION_SUBJECT = "vnd.docker.reference.digest"
PREDICATE_ANNOTATION = "in-toto.io/predicate-type"
IN_TOTO_MEDIA_TYPE = "application/vnd.in-toto+json"
SPDX_PREDICATES = ("https://spdx.dev/Document",)
CYCLONEDX_PREDICATES = ("https://cyclonedx.org/bom",)
MAX_PACKAGES = 50_000    # more is not an image's SBOM
MAX_NAME = 200
MAX_DEPTH = 8            # CycloneDX components nest; this deep and no deeper
SHOWN_CHANGES = 4        # package changes named in one line of text


class SbomError(ValueError):
    """An attestation that cannot be read as an SBOM (said in logs, never raised further)."""


@dataclass(frozen=True)
class Descriptor:
    digest: str
    media_type: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)


def attestation_for(index: Mapping[str, Any], image_digest: str) -> str | None:
    """The digest of the attestation manifest describing ``image_digest`` in an index."""
    for entry in _list(index.get("manifests")):
        annotations = entry.get("annotations")
        if not isinstance(annotations, Mapping):
            continue
        if (annotations.get(ATTESTATION_TYPE) == ATTESTATION_MANIFEST
                and annotations.get(ATTESTATION_SUBJECT) == image_digest
                and isinstance(entry.get("digest"), str)):
            return str(entry["digest"])
    return None


def sbom_layers(manifest: Mapping[str, Any]) -> list[Descriptor]:
    """The layers of an attestation manifest that are SPDX or CycloneDX statements, SPDX
    first (a layer without the predicate annotation is kept last, to be looked into)."""
    found: list[tuple[int, Descriptor]] = []
    for layer in _list(manifest.get("layers")):
        digest, size = layer.get("digest"), layer.get("size")
        if not isinstance(digest, str) or not isinstance(size, int) or isinstance(size, bool):
            continue
        raw = layer.get("annotations")
        annotations = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        predicate = annotations.get(PREDICATE_ANNOTATION)
        media_type = str(layer.get("mediaType") or "")
        if predicate in SPDX_PREDICATES:
            rank = 0
        elif predicate in CYCLONEDX_PREDICATES:
            rank = 1
        elif predicate is None and media_type == IN_TOTO_MEDIA_TYPE:
            rank = 2
        else:
            continue  # provenance and other predicates
        found.append((rank, Descriptor(digest, media_type, size, annotations)))
    return [d for _, d in sorted(found, key=lambda pair: pair[0])]


def statement_packages(body: bytes) -> dict[str, str]:
    """Package name -> version from an in-toto statement with an SPDX or CycloneDX predicate.
    :class:`SbomError` when the body is no such statement."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SbomError(f"not a JSON document: {exc}") from None
    if not isinstance(document, Mapping):
        raise SbomError("not a JSON object")
    predicate_type = document.get("predicateType")
    predicate = document.get("predicate")
    if not isinstance(predicate, Mapping):
        raise SbomError("an in-toto statement without a predicate")
    if predicate_type in SPDX_PREDICATES or "spdxVersion" in predicate:
        return _spdx(predicate)
    if predicate_type in CYCLONEDX_PREDICATES or predicate.get("bomFormat") == "CycloneDX":
        return _cyclonedx(predicate)
    raise SbomError(f"predicate {str(predicate_type)[:MAX_NAME]!r} is not an SBOM")


def _spdx(document: Mapping[str, Any]) -> dict[str, str]:
    described = set()
    for relation in _list(document.get("relationships")):
        if relation.get("relationshipType") == "DESCRIBES":
            described.add(relation.get("relatedSpdxElement"))
    pairs = []
    for package in _list(document.get("packages")):
        if package.get("SPDXID") in described and package.get("primaryPackagePurpose") in (
                "CONTAINER", "OPERATING-SYSTEM"):
            continue  # the image itself, not a package in it
        pairs.append((package.get("name"), package.get("versionInfo")))
    return _packages(pairs)


def _cyclonedx(document: Mapping[str, Any]) -> dict[str, str]:
    pairs: list[tuple[object, object]] = []

    def walk(components: object, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        for component in _list(components):
            if component.get("type") not in ("container", "operating-system"):
                pairs.append((component.get("name"), component.get("version")))
            walk(component.get("components"), depth + 1)
            if len(pairs) > MAX_PACKAGES:
                return

    walk(document.get("components"), 0)
    return _packages(pairs)


def _packages(pairs: Iterable[tuple[object, object]]) -> dict[str, str]:
    """Names and versions that are strings; a name listed with several versions (two
    architectures of one package) keeps them all, joined."""
    versions: dict[str, set[str]] = {}
    for name, version in pairs:
        if not isinstance(name, str) or not name.strip() or not isinstance(version, str):
            continue
        versions.setdefault(name.strip()[:MAX_NAME], set()).add(version.strip()[:MAX_NAME])
        if len(versions) >= MAX_PACKAGES:
            break
    return {name: ", ".join(sorted(found)) for name, found in versions.items()}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


@dataclass(frozen=True)
class PackageChanges:
    """What changed between two SBOMs: name -> (old, new) versions; added, removed."""

    changed: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    added: Mapping[str, str] = field(default_factory=dict)
    removed: Mapping[str, str] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.changed) + len(self.added) + len(self.removed)

    def data(self) -> dict[str, Any]:
        return {
            "changed": {name: list(pair) for name, pair in self.changed.items()},
            "added": dict(self.added),
            "removed": dict(self.removed),
            "count": self.count,
        }


def diff_packages(old: Mapping[str, str], new: Mapping[str, str]) -> PackageChanges:
    """Sorted by name; a package whose version did not change is not mentioned."""
    changed = {name: (old[name], new[name]) for name in sorted(set(old) & set(new))
               if old[name] != new[name]}
    added = {name: new[name] for name in sorted(set(new) - set(old))}
    removed = {name: old[name] for name in sorted(set(old) - set(new))}
    return PackageChanges(changed, added, removed)


def merge_changes(changes: Iterable[PackageChanges]) -> PackageChanges:
    """Several platforms' changes as one (the first platform's word wins for a name)."""
    changed: dict[str, tuple[str, str]] = {}
    added: dict[str, str] = {}
    removed: dict[str, str] = {}
    for change in changes:
        for name, pair in change.changed.items():
            changed.setdefault(name, pair)
        for name, version in change.added.items():
            added.setdefault(name, version)
        for name, version in change.removed.items():
            removed.setdefault(name, version)
    return PackageChanges(dict(sorted(changed.items())), dict(sorted(added.items())),
                          dict(sorted(removed.items())))


def describe_packages(data: Mapping[str, Any]) -> str | None:
    """``openssl 3.0.13-1~deb12u1 -> 3.0.14-1~deb12u1, libssl3 ...; 3 packages changed``,
    from :meth:`PackageChanges.data`; None when nothing changed."""
    changed, added, removed = (_mapping(data.get(key)) for key in ("changed", "added", "removed"))
    count = data.get("count")
    if not isinstance(count, int) or isinstance(count, bool):
        count = len(changed) + len(added) + len(removed)
    if count <= 0:
        return None
    parts = []
    for name, pair in list(changed.items())[:SHOWN_CHANGES]:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            parts.append(f"{name} {pair[0]} -> {pair[1]}")
    for name, version in list(added.items())[:max(0, SHOWN_CHANGES - len(parts))]:
        parts.append(f"{name} {version} added")
    for name, version in list(removed.items())[:max(0, SHOWN_CHANGES - len(parts))]:
        parts.append(f"{name} {version} removed")
    if count > len(parts):
        parts.append("...")
    noun = "package" if count == 1 else "packages"
    return f"{', '.join(parts)}; {count} {noun} changed"
