"""Pure parsing and verification of manifest, index and config bodies."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from watcher.core.digest import digest_problem
from watcher.core.observation import (
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    ImageConfig,
)

ALGORITHMS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
ATTESTATION_ANNOTATION = "vnd.docker.reference.type"


class ManifestError(ValueError):
    """A body does not match its digest or is not the document it claims to be."""


def compute_digest(body: bytes, algorithm: str = "sha256") -> str:
    try:
        hasher = ALGORITHMS[algorithm]
    except KeyError:
        raise ManifestError(f"unsupported digest algorithm {algorithm!r}") from None
    return f"{algorithm}:{hasher(body).hexdigest()}"


def verify_digest(body: bytes, *claimed: str | None) -> str:
    """Check ``body`` against every claimed digest; return its digest (sha256 unless claimed)."""
    digest: str | None = None
    for claim in claimed:
        if not claim:
            continue
        if (problem := digest_problem(claim)) is not None:
            raise ManifestError(f"cannot verify against a malformed digest: {problem}")
        algorithm = claim.partition(":")[0]
        actual = compute_digest(body, algorithm)
        if actual != claim:
            raise ManifestError(f"content digest is {actual}, but {claim} was claimed")
        digest = digest or claim
    return digest or compute_digest(body)


def _load(body: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{what} is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ManifestError(f"{what} is JSON nested too deeply to read") from exc
    if not isinstance(document, dict):
        raise ManifestError(f"{what} is not a JSON object")
    return document


def media_type_of(body: bytes, header: str | None) -> str:
    """The manifest's media type: its ``mediaType`` field, else the Content-Type header."""
    document = _load(body, "manifest")
    declared = document.get("mediaType")
    header = (header or "").split(";")[0].strip() or None
    media_type = declared if isinstance(declared, str) else header
    if media_type is None and "manifests" in document:
        media_type = INDEX_MEDIA_TYPES[0]  # an OCI index may omit mediaType
    if media_type not in MANIFEST_MEDIA_TYPES:
        raise ManifestError(f"unsupported manifest media type {media_type!r}")
    return media_type


def platform_key(platform: Mapping[str, Any]) -> str | None:
    """``os/arch[/variant]`` for a descriptor's platform, or ``None`` when it has none."""
    os_name, arch = platform.get("os"), platform.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str):
        return None
    variant = platform.get("variant")
    if isinstance(variant, str) and variant:
        return f"{os_name}/{arch}/{variant}"
    return f"{os_name}/{arch}"


def index_platforms(body: bytes) -> Mapping[str, str]:
    """Map each platform of an OCI index / Docker manifest list to its child digest.

    Attestation entries (``unknown/unknown``, or annotated ``vnd.docker.reference.type``) are
    skipped; so are entries without a platform. A platform listed twice keeps its first entry.
    """
    document = _load(body, "index")
    entries = document.get("manifests")
    if not isinstance(entries, list):
        raise ManifestError("index has no 'manifests' list")
    platforms: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
            raise ManifestError("index entry without a digest")
        if (problem := digest_problem(entry["digest"])) is not None:
            raise ManifestError(f"index entry digest: {problem}")
        annotations = entry.get("annotations") or {}
        if isinstance(annotations, dict) and ATTESTATION_ANNOTATION in annotations:
            continue
        platform = entry.get("platform")
        key = platform_key(platform) if isinstance(platform, dict) else None
        if key is None or key.startswith("unknown/unknown"):
            continue
        platforms.setdefault(key, entry["digest"])
    return MappingProxyType(platforms)


def select_platform(platforms: Mapping[str, str], wanted: str) -> str | None:
    """The child digest for ``wanted``; ``linux/arm64`` also matches a lone ``linux/arm64/v8``."""
    if wanted in platforms:
        return platforms[wanted]
    if wanted.count("/") == 1:
        candidates = [key for key in platforms if key.startswith(wanted + "/")]
        if len(candidates) == 1:
            return platforms[candidates[0]]
    return None


def config_digest(body: bytes) -> str:
    """The config blob digest of a single-platform manifest."""
    config = _load(body, "manifest").get("config")
    if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
        raise ManifestError("manifest has no config descriptor")
    if (problem := digest_problem(config["digest"])) is not None:
        raise ManifestError(f"config descriptor digest: {problem}")
    return str(config["digest"])


def image_config(body: bytes, digest: str) -> ImageConfig:
    """The interesting parts of an image config blob (already verified against ``digest``)."""
    document = _load(body, "image config")
    inner = document.get("config") or {}
    if not isinstance(inner, dict):
        raise ManifestError("image config 'config' is not an object")
    env = inner.get("Env") or []
    labels = inner.get("Labels") or {}
    if not isinstance(env, list) or not all(isinstance(item, str) for item in env):
        raise ManifestError("image config Env is not a list of strings")
    if not isinstance(labels, dict):
        raise ManifestError("image config Labels is not an object")

    def text(value: object) -> str | None:
        return value if isinstance(value, str) else None

    rootfs = document.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    layers = tuple(item for item in diff_ids if isinstance(item, str)) if isinstance(
        diff_ids, list) else ()
    return ImageConfig(
        digest=digest,
        created=text(document.get("created")),
        env=tuple(env),
        labels=MappingProxyType({str(k): str(v) for k, v in labels.items()}),
        os=text(document.get("os")),
        architecture=text(document.get("architecture")),
        layers=layers,
    )


def tags_page(body: bytes) -> list[str]:
    """The tags of one tags/list page."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise ManifestError(f"tag list is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ManifestError("tag list is JSON nested too deeply to read") from exc
    tags = document.get("tags") if isinstance(document, dict) else None
    if tags is None and isinstance(document, dict):
        return []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ManifestError("tag list has no list of tags")
    return tags
