"""A user's regular expression (``include``, ``exclude``, ``extract``), matched in linear time.

Patterns come from the configuration and are matched against tags a registry chose: with a
backtracking engine, ``(a+)+$`` against ``aaaaaaaaaaaaaaaaaaaaaaaaaaaa!`` takes minutes and
hangs the round. RE2 (``google-re2``) never backtracks; it rejects what it cannot match in
linear time (backreferences such as ``\\1``, look-around such as ``(?=...)``), and then the
pattern is refused with a message that names it. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import re2  # type: ignore[import-untyped]

__all__ = ["UserPattern"]

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the error is raised to the caller, not printed on stderr


@dataclass(frozen=True)
class UserPattern:
    """A compiled user pattern: :meth:`search` anywhere in a tag, capture groups by number."""

    pattern: str
    _compiled: Any = field(compare=False, repr=False)

    @classmethod
    def compile(cls, pattern: str) -> UserPattern:
        """Compile ``pattern``; ``ValueError`` (what is wrong, no key) when it cannot be used."""
        try:
            compiled = re2.compile(pattern, _OPTIONS)
        except re2.error as exc:
            reason = exc.args[0] if exc.args else exc
            if isinstance(reason, bytes):
                reason = reason.decode("utf-8", "replace")
            raise ValueError(
                f"invalid regular expression '{pattern}': {reason} (patterns are matched in "
                "linear time: backreferences such as \\1 and look-around such as (?=...) are "
                "not supported)"
            ) from None
        return cls(pattern, compiled)

    @property
    def groups(self) -> int:
        return int(self._compiled.groups)

    def search(self, text: str) -> tuple[str | None, ...] | None:
        """``None`` when the pattern is nowhere in ``text``, else its capture groups."""
        match = self._compiled.search(text)
        if match is None:
            return None
        return tuple(match.groups())
