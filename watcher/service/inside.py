"""What changed inside a moved tag, asked of the registry: the old and new image configs of
the platforms that moved, their SBOMs when the index attests them, the precise tag the moved
tag now equals and a newer OS line of the same version. Only on change, only small documents
(configs, indexes, attestation manifests and SBOM statements; never a layer), best effort:
whatever fails is left out, and the change itself is recorded anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from watcher.config import TrackedImage
from watcher.core.changes import ImageState
from watcher.core.explain import explain, with_findings
from watcher.core.observation import ImageConfig, ManifestObservation
from watcher.core.sbom import PackageChanges, diff_packages, merge_changes
from watcher.core.tags.lines import precise_candidates, rebase_targets
from watcher.logs import get_logger
from watcher.registry import RegistryClient
from watcher.registry.attestations import SbomCache, index_document, sbom_packages

log = get_logger("watcher.service")

EXPLAIN_PLATFORMS = 4  # configs compared per change, at most (2 small blobs each)
SBOMS = SbomCache()    # process-wide: the daemon's rounds share it
TagList = Callable[[], Awaitable[list[str]]]
_T = TypeVar("_T")


async def explain_change(
    client: RegistryClient,
    image: TrackedImage,
    previous: ImageState,
    manifest: ManifestObservation,
    tags: TagList | None = None,
) -> dict[str, Any] | None:
    """The explanation's data (see :func:`watcher.core.explain.explain`), with the package
    changes, the precise tag and a rebase target when found; None when no platform's old
    and new configs could be compared, or anything unexpected failed (logged): an
    explanation never fails a check."""
    try:
        return await _explain_change(client, image, previous, manifest, tags)
    except Exception:
        log.exception("explaining a change failed unexpectedly", image=str(image.ref))
        return None


async def _explain_change(
    client: RegistryClient,
    image: TrackedImage,
    previous: ImageState,
    manifest: ManifestObservation,
    tags: TagList | None,
) -> dict[str, Any] | None:
    pairs = _moved_platforms(image, previous, manifest)
    if not pairs:
        return None
    chosen = list(pairs.items())[:EXPLAIN_PLATFORMS]
    configs = await asyncio.gather(*(_config(client, image, d) for _, pair in chosen
                                     for d in pair))
    by_platform = {p: (configs[2 * i], configs[2 * i + 1]) for i, (p, _) in enumerate(chosen)}
    found = explain(by_platform)
    if found is None:
        return None
    packages = None
    if manifest.is_index and previous.digest:
        packages = await _best_effort(
            "SBOM diff", image, _package_changes(client, image, previous.digest,
                                                 manifest.digest, chosen))
    tag = rebase = None
    if tags is not None and image.ref.tag is not None:
        listed = await _best_effort("tag listing", image, tags())
        if listed:
            tag = await _best_effort("precise tag", image,
                                     precise_tag(client, image, manifest.digest, listed))
            rebase = next(iter(rebase_targets(image.ref.tag, listed, image.tags)
                               or (rebase_targets(tag, listed, image.tags) if tag else [])),
                          None)
    return with_findings(found.data(), packages=packages, tag=tag, rebase=rebase)


async def precise_tag(client: RegistryClient, image: TrackedImage, digest: str,
                      tags: list[str]) -> str | None:
    """The most precise tag of the few candidates the orderer names that points at
    ``digest`` now (one HEAD each, at most ``MAX_CANDIDATES``)."""
    assert image.ref.tag is not None
    candidates = precise_candidates(image.ref.tag, tags, image.tags)
    digests = await asyncio.gather(
        *(client.head_digest(replace(image.ref, tag=c, digest=None)) for c in candidates),
        return_exceptions=True)
    return next((c for c, d in zip(candidates, digests, strict=True) if d == digest), None)


def _moved_platforms(image: TrackedImage, previous: ImageState,
                     manifest: ManifestObservation) -> dict[str, tuple[str, str]]:
    pairs: dict[str, tuple[str, str]] = {}
    if manifest.platforms:
        for platform, digest in sorted(manifest.platforms.items()):
            before = previous.platforms.get(platform)
            watched = image.platforms is None or platform in image.platforms
            if before and before != digest and watched:
                pairs[platform] = (before, digest)
    elif previous.digest and not previous.platforms:
        pairs[""] = (previous.digest, manifest.digest)
    return pairs


async def _config(client: RegistryClient, image: TrackedImage, digest: str) -> ImageConfig | None:
    pinned = replace(image.ref, tag=None, digest=digest)
    try:
        return await client.image_config(pinned)
    except Exception as exc:  # best effort: the change itself is recorded anyway
        log.debug("image config unavailable", image=str(pinned), error=str(exc))
        return None


async def _package_changes(
    client: RegistryClient, image: TrackedImage, old_index: str, new_index: str,
    chosen: list[tuple[str, tuple[str, str]]],
) -> PackageChanges | None:
    """The SBOM packages' changes of the moved platforms whose old and new images are both
    attested; None when none is."""
    old_doc, new_doc = await asyncio.gather(index_document(client, image.ref, old_index),
                                            index_document(client, image.ref, new_index))
    if old_doc is None or new_doc is None:
        return None
    changes = []
    for _, (before, after) in chosen:
        old = await sbom_packages(client, image.ref, old_doc, before, cache=SBOMS)
        if old is None:
            continue
        new = await sbom_packages(client, image.ref, new_doc, after, cache=SBOMS)
        if new is not None:
            changes.append(diff_packages(old, new))
    return merge_changes(changes) if changes else None


async def _best_effort(what: str, image: TrackedImage, work: Awaitable[_T]) -> _T | None:
    try:
        return await work
    except Exception as exc:
        log.debug(f"{what} unavailable", image=str(image.ref), error=str(exc))
        return None
