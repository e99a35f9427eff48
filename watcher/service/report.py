"""What a check round reports: each image's check (what was seen, what was there before, what
was decided) and the round as a whole. The CLI's ``check`` renders these."""

from __future__ import annotations

from dataclasses import dataclass

from watcher.config import TrackedImage
from watcher.core.changes import CheckDecision, CheckState, ImageState, Observation


@dataclass(frozen=True)
class ImageCheck:
    """One image's part of a round: what was seen, what was there before, what was decided."""

    image: TrackedImage
    previous: ImageState | None
    observation: Observation
    decision: CheckDecision
    # Another writer recorded a later check of this image meanwhile: this one was dropped.
    superseded: bool = False

    @property
    def ref(self) -> str:
        return str(self.image.ref)

    @property
    def missing_platforms(self) -> tuple[str, ...]:
        """Configured platforms this image's index does not have at all."""
        return self.decision.image.missing_platforms if self.observation.manifest else ()

    @property
    def tags_error(self) -> str | None:
        """Why listing the repository's tags failed in this check, if it did."""
        return self.observation.tags_error

    @property
    def failed(self) -> bool:
        """The registry could not say what the tag points to (a 404 included)."""
        return self.observation.manifest is None


@dataclass(frozen=True)
class RoundReport:
    checks: tuple[ImageCheck, ...]
    not_started: int = 0  # images left unchecked because the round was told to stop
    round_id: str = ""
    duration: float = 0.0  # seconds, from the round's start to its last record
    requests: int = 0  # registry requests sent, retries and token requests included

    @property
    def failed(self) -> int:
        return sum(1 for c in self.checks if c.failed)

    @property
    def changed(self) -> int:
        return sum(1 for c in self.checks if c.decision.state is CheckState.CHANGED)


__all__ = ["ImageCheck", "RoundReport"]
