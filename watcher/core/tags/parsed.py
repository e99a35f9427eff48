"""What a tag was read as: :class:`ParsedTag`, and which tags it may be compared with.

Pure: no I/O. See ``docs/tags.md``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from watcher.core.tags.reason import Reason
from watcher.core.tags.tail import PreRelease

__all__ = ["ParsedTag"]


class ParsedTag(NamedTuple):
    """A tag read as a version, a date, or (by policy) semver, a string or an extracted value.

    ``family`` decides what the tag may be compared with; ``key`` orders tags of one family
    (equal keys mean the same version spelled differently); ``line`` is what a same-line update
    keeps (``None``: no same-line update but the same release; ``()``: any newer value).
    ``revision`` (``-r5``) and ``counter`` (linuxserver's ``-ls301``) count rebuilds of one
    version; ``metadata`` (commit ids such as Plex's ``c6bbc1b53``) is never compared.
    A named tuple: immutable, and cheap to build for thousands of tags.
    """

    tag: str
    kind: str  # "version", "calver", "date", "timestamp", "counter", "semver", "lexical", "extract"
    prefix: str = ""
    release: tuple[int, ...] = ()
    pre: PreRelease | None = None
    build: int | None = None
    variant: str = ""
    date_style: str | None = None  # "compact" (20240115), "dotted" or "dashed"
    respin: int | None = None
    key: tuple[Any, ...] = ()
    line: tuple[Any, ...] | None = None
    revision: int | None = None
    counter: int | None = None
    metadata: tuple[str, ...] = ()

    @property
    def precision(self) -> int:
        return len(self.release)

    @property
    def format(self) -> str:
        return f"{self.kind}:{self.date_style}" if self.date_style else self.kind

    @property
    def version(self) -> str:
        """The numeric part as written in canonical form: ``3.12.7``, ``2024-01-15``."""
        if self.kind == "date":
            y, m, d = self.release
            return f"{y:04d}-{m:02d}-{d:02d}" + ("" if self.respin is None else f".{self.respin}")
        if self.kind == "timestamp":
            y, mo, d, h, mi, s = self.release
            return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}Z"
        if self.kind == "counter":
            return f"ls{self.counter}"
        return ".".join(map(str, self.release))

    @property
    def label(self) -> str:
        """The version with what orders it after the numbers: ``8.0.36 r5``, ``3.14.0 (rc1)``."""
        text = self.version
        if self.pre is not None:
            text += f" ({self.pre})"
        if self.revision is not None:
            text += f" r{self.revision}"
        if self.counter is not None and self.kind != "counter":
            text += f" ls{self.counter}"
        return text

    def family_mismatch(self, other: ParsedTag) -> tuple[Reason, str] | None:
        """Why ``other`` is not of this tag's family, or ``None`` when it is."""
        if other.prefix != self.prefix:
            return (
                Reason.OTHER_PREFIX,
                f"prefix {other.prefix or '(none)'!r}, not {self.prefix or '(none)'!r}",
            )
        if other.format != self.format:
            return Reason.OTHER_FORMAT, f"{other.format}, not {self.format}"
        if other.variant != self.variant:
            return (
                Reason.OTHER_VARIANT,
                f"variant {other.variant or '(none)'!r}, not {self.variant or '(none)'!r}",
            )
        if other.precision != self.precision and self.kind not in ("date", "lexical"):
            return Reason.OTHER_PRECISION, _components(other.precision) + f", not {self.precision}"
        if (other.build is None) != (self.build is None):
            if other.build is not None:
                return Reason.BUILD_MISMATCH, f"build {other.build}; {self.tag} has none"
            return Reason.BUILD_MISMATCH, f"no build number; {self.tag} has one"
        if (other.revision is None) != (self.revision is None):
            return self._rebuild_mismatch("revision", "r", self.revision, other.revision)
        if (other.counter is None) != (self.counter is None):
            return self._rebuild_mismatch("build counter", "ls", self.counter, other.counter)
        return None

    def _rebuild_mismatch(
        self, what: str, mark: str, mine: int | None, theirs: int | None
    ) -> tuple[Reason, str]:
        if theirs is not None:
            return Reason.BUILD_MISMATCH, f"{what} {mark}{theirs}; {self.tag} has none"
        return Reason.BUILD_MISMATCH, f"no {what}; {self.tag} has {mark}{mine}"

    def on_line_of(self, current: ParsedTag) -> bool:
        """True when this tag stays on ``current``'s line (callers check the family first)."""
        if self.release == current.release and self.kind != "lexical":
            return True
        return current.line is not None and self.line == current.line

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "kind": self.kind,
            "prefix": self.prefix,
            "version": self.version,
            "pre_release": None if self.pre is None else str(self.pre),
            "build": self.build,
            "variant": self.variant,
            "precision": self.precision,
            "date_style": self.date_style,
            "revision": self.revision,
            "build_counter": self.counter,
            "metadata": list(self.metadata),
        }


def _components(count: int) -> str:
    return f"{count} component" + ("" if count == 1 else "s")
