"""Why an offered tag is not a candidate: the stable :class:`Reason` codes and their summaries."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Reason"]


class Reason(StrEnum):
    """Why an offered tag is not a candidate. The values are stable codes."""

    SAME = "same"
    EXCLUDED = "excluded"
    FLOATING = "floating"
    COMMIT = "commit"
    NOT_A_VERSION = "not-a-version"
    OTHER_PREFIX = "other-prefix"
    OTHER_FORMAT = "other-format"
    OTHER_VARIANT = "other-variant"
    OTHER_PRECISION = "other-precision"
    BUILD_MISMATCH = "build-mismatch"
    OLDER = "older"
    OUT_OF_RANGE = "out-of-range"
    PRE_RELEASE = "pre-release"

    @property
    def summary(self) -> str:
        """One line a person reads as a heading."""
        return _SUMMARIES[self]


_SUMMARIES = {
    Reason.SAME: "the current tag itself",
    Reason.EXCLUDED: "left out by the include/exclude patterns",
    Reason.FLOATING: "floating alias: moves to other versions, never a candidate",
    Reason.COMMIT: "commit id, not a version",
    Reason.NOT_A_VERSION: "looks like a version but does not parse as one",
    Reason.OTHER_PREFIX: "another prefix",
    Reason.OTHER_FORMAT: "another format (version vs date, or another date spelling)",
    Reason.OTHER_VARIANT: "another variant",
    Reason.OTHER_PRECISION: "another precision (number of components)",
    Reason.BUILD_MISMATCH: "build number, revision or build counter on one side only",
    Reason.OLDER: "not newer than the current tag",
    Reason.OUT_OF_RANGE: "outside the version range",
    Reason.PRE_RELEASE: "pre-release not offered on this line",
}
