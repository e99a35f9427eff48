"""A round's tag listings: each repository's tags are listed once per round for all its
images, beside their manifest requests, and ranked again only when the list, the tag, the tag
policy or the ranking rules changed (the fingerprint). Between listings (an image's
``tags_interval``), the stored listing stands and no request is sent."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from watcher.config import TrackedImage
from watcher.core.changes import ImageState, NewerVersions
from watcher.core.reference import ImageReference
from watcher.core.tags import RULES_VERSION, TagPolicy, rank_tags
from watcher.errors import RegistryError
from watcher.logs import get_logger
from watcher.registry import RegistryClient
from watcher.store import Store, TagListing

log = get_logger("watcher.service")

Clock = Callable[[], datetime]
Listed = tuple[list[str], str]  # the tags, and a digest of the sorted list


class TagLister:
    """The tag listings of one round, over one registry client."""

    def __init__(self, client: RegistryClient, clock: Clock,
                 tags_interval: Callable[[TrackedImage], float] | None) -> None:
        """``tags_interval`` gives each image's tag-listing interval; None lists every
        repository in this round."""
        self._client = client
        self._clock = clock
        self._tags_interval = tags_interval
        self._tasks: dict[tuple[str, str], asyncio.Task[Listed]] = {}
        self._listings: dict[tuple[str, str], TagListing] = {}
        self._unrecorded: list[TagListing] = []  # listings the writer has yet to record

    def load(self, store: Store, images: Iterable[TrackedImage]) -> None:
        """Read the stored listings of ``images``' repositories (when an interval applies)."""
        if self._tags_interval is not None:
            self._listings = store.tag_listings(
                (i.ref.registry, i.ref.repository) for i in images if i.list_tags)

    def take_unrecorded(self) -> list[TagListing]:
        """The listings made since the last call, for the writer to record."""
        listings, self._unrecorded = self._unrecorded, []
        return listings

    def start_if_due(self, image: TrackedImage, previous: ImageState | None) -> None:
        """Start listing the image's repository now unless its ranking stands: the listing
        goes out beside the manifest request, not after it (far from the registry that is one
        round trip per check instead of two)."""
        if image.list_tags and image.ref.tag is not None and not self.listed_recently(
                image, previous):
            self._list_tags_soon(image.ref)

    async def newer_versions(
        self, image: TrackedImage, previous: ImageState | None
    ) -> tuple[NewerVersions | None, str | None, str | None]:
        """Rank the repository's tags: (answers, fingerprint, why listing failed).

        The answers are None when not wanted or when listing failed (the previous ones stand);
        the failure is recorded in the image's state and shown by ``check`` and ``status``.
        """
        ref = image.ref
        if not image.list_tags or ref.tag is None:
            return None, None, None
        policy = image.tags
        reused = self.listed_recently(image, previous)
        if reused is not None:
            return previous.newer if previous else None, reused, None
        try:
            tags, listed = await self.list_tags(ref)
        except RegistryError as exc:
            log.debug("tag listing failed", image=str(ref), error=exc.message)
            return None, None, f"tag listing failed: {exc.message}"
        except Exception as exc:
            log.exception("tag listing failed unexpectedly", image=str(ref))
            return None, None, f"tag listing failed: {unexpected(ref, exc)}"
        fingerprint = _fingerprint(ref.tag, policy, listed)
        if previous is not None and previous.tags_fingerprint == fingerprint:
            return previous.newer, fingerprint, None
        try:
            answer = rank_tags(ref.tag, tags, policy)
        except Exception as exc:
            log.exception("tag ranking failed", image=str(ref))
            return None, None, f"tag ranking failed: {type(exc).__name__}: {exc}"
        return NewerVersions(answer.same_line, answer.newest), fingerprint, None

    def listed_recently(self, image: TrackedImage, previous: ImageState | None) -> str | None:
        """The image's fingerprint when its ranking stands without listing: its repository
        was listed within its ``tags_interval``, and that listing ranked it as it is now."""
        if self._tags_interval is None or previous is None or previous.tags_error:
            return None
        listing = self._listings.get((image.ref.registry, image.ref.repository))
        if listing is None or image.ref.tag is None:
            return None
        age = (self._clock() - listing.listed_at).total_seconds()
        if not 0 <= age < self._tags_interval(image):
            return None
        fingerprint = _fingerprint(image.ref.tag, image.tags, listing.list_digest)
        return fingerprint if fingerprint == previous.tags_fingerprint else None

    async def list_tags(self, ref: ImageReference) -> Listed:
        """One tag listing per repository per round, shared by every image of it, with a
        digest of the list (computed once: a repository may have thousands of tags)."""
        return await asyncio.shield(self._list_tags_soon(ref))

    async def listed_tags(self, ref: ImageReference) -> list[str]:
        tags, _ = await self.list_tags(ref)
        return tags

    def _list_tags_soon(self, ref: ImageReference) -> asyncio.Task[Listed]:
        """The repository's listing task, started if it was not yet."""
        key = (ref.registry, ref.repository)
        task = self._tasks.get(key)
        if task is None:
            task = self._tasks[key] = asyncio.ensure_future(self._fetch_tag_list(ref))
            # Started early, it may end with no image waiting for it (their manifest
            # requests failed): its failure is then theirs to report, not asyncio's.
            task.add_done_callback(_retrieved)
        return task

    async def _fetch_tag_list(self, ref: ImageReference) -> Listed:
        listed_at = self._clock()
        tags = await self._client.list_tags(ref)
        digest = hashlib.sha256("\n".join(sorted(tags)).encode()).hexdigest()
        listing = TagListing(ref.registry, ref.repository, listed_at, digest, len(tags))
        self._listings[(ref.registry, ref.repository)] = listing
        self._unrecorded.append(listing)  # recorded by the writer: one transaction for many
        return tags, digest


def unexpected(ref: ImageReference, exc: Exception) -> str:
    """An unexpected error of one image's check, described as its failure."""
    return f"{ref} on {ref.registry}: unexpected error: {type(exc).__name__}: {exc}"


def _retrieved(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _fingerprint(current: str, policy: TagPolicy, tag_list: str) -> str:
    """Changes when the tag list, the tracked tag, the tag policy or the rules change: rank
    again."""
    text = f"{current}\x00{policy!r}\x00{RULES_VERSION}\x00{tag_list}"
    return hashlib.sha256(text.encode()).hexdigest()


__all__ = ["TagLister", "unexpected"]
