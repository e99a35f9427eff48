"""A round's one writer: it applies the round's decisions to the database in the order they
arrive, a batch per transaction (group commit), each decided against the state stored at that
moment (another process may have recorded a check of the same image meanwhile)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from watcher.config import TrackedImage
from watcher.core.changes import (
    CheckDecision,
    CheckState,
    ImageState,
    Observation,
    WatchPolicy,
    decide,
    superseded,
)
from watcher.core.delivery import Route
from watcher.logs import get_logger
from watcher.service.listing import unexpected
from watcher.service.report import ImageCheck
from watcher.store import Recording, Store, TagListing

log = get_logger("watcher.service")

Progress = Callable[[ImageCheck], None]
WRITE_BATCH = 500  # checks recorded per transaction, at most


def watch_policy(image: TrackedImage) -> WatchPolicy:
    return WatchPolicy(
        platforms=image.platforms,
        notify_on_first_check=image.notify_on_first_check,
        tags=image.tags,
    )


@dataclass
class Pending:
    """An image observed, on its way to the writer; ``done`` gets its ImageCheck."""

    image: TrackedImage
    previous: ImageState | None
    observation: Observation
    done: asyncio.Future[ImageCheck]
    held: bool = False  # a tag reported missing, held until the round's end


class RoundWriter:
    """Records one round's checks, with the tag listings made meanwhile."""

    def __init__(self, store: Store, *, round_id: str, routes: Sequence[Route], soak: float,
                 progress: Progress | None,
                 unrecorded: Callable[[], list[TagListing]]) -> None:
        """``unrecorded`` hands over the tag listings made since it was last called."""
        self._store = store
        self._round_id = round_id
        self._routes = tuple(routes)
        self._soak = soak
        self._progress = progress
        self._unrecorded = unrecorded

    async def run(self, queue: asyncio.Queue[Pending | None]) -> None:
        """Record the decisions in the order they arrive, a batch of them per transaction
        (group commit: whatever arrived while the last batch was written, up to
        ``WRITE_BATCH``), so a crash loses at most the batch in flight. None ends it."""
        finished = False
        while not finished:
            item = await queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < WRITE_BATCH and not queue.empty():
                more = queue.get_nowait()
                if more is None:
                    finished = True
                    break
                batch.append(more)
            listings = self._unrecorded()
            checks = await asyncio.to_thread(self._record, batch, listings)
            for pending, check in zip(batch, checks, strict=True):
                _log_check(check)
                pending.done.set_result(check)
                if self._progress is not None:
                    self._progress(check)

    def _record(
        self, batch: Sequence[Pending], listings: Sequence[TagListing] = ()
    ) -> list[ImageCheck]:
        """Record the batch; first the tag listings made since the last one (with the same
        thread hop, in a transaction of their own)."""
        if listings:
            self._store.record_tag_listings(listings)
        stored: list[ImageState] = []
        recordings = [self._recording(item, stored) for item in batch]
        decisions = self._store.record_many(recordings, routes=self._routes,
                                            round_id=self._round_id)
        checks = []
        for item, against, decision in zip(batch, stored, decisions, strict=True):
            if decision is None:
                log.info("newer check recorded meanwhile; this one is dropped",
                         image=str(item.image.ref))
                unchanged = CheckDecision(CheckState.UNCHANGED, against)
                checks.append(ImageCheck(item.image, against, item.observation, unchanged,
                                         superseded=True))
            else:
                checks.append(ImageCheck(item.image, against, item.observation, decision))
        return checks

    def _recording(self, item: Pending, stored: list[ImageState]) -> Recording:
        """What the store needs to record ``item``; the state it is decided against is
        appended to ``stored``."""
        observation, policy = item.observation, watch_policy(item.image)

        def decide_now(state: ImageState) -> CheckDecision | None:
            stored.append(state)
            if superseded(state, observation):
                return None
            try:
                return decide(state, observation, policy)
            except Exception as exc:
                # Anything the typed errors do not cover fails this image only: the rest of
                # the round goes on, and it keeps its last good state like any failed check.
                log.exception("check failed unexpectedly", image=str(item.image.ref))
                failed = Observation(observation.checked_at, error=unexpected(item.image.ref, exc))
                return decide(state, failed, policy)

        soak = self._soak if item.image.soak is None else item.image.soak
        return Recording(str(item.image.ref), decide_now, soak=soak, now=observation.checked_at)


def _log_check(check: ImageCheck) -> None:
    decision = check.decision
    if decision.state is CheckState.ERROR:  # folded per registry in the round's summary
        log.debug("check failed", image=check.ref, error=check.observation.error)
    elif decision.events:
        log.info("image changed", image=check.ref, events=[e.kind.value for e in decision.events])


__all__ = ["WRITE_BATCH", "Pending", "RoundWriter", "watch_policy"]
