"""Tag ordering: which offered tag is the newer version of the tag a user tracks.

A tag is only compared with tags of its own *family*: the same prefix (``v``, ``jammy-``), the
same format (version, or a date in one spelling), the same variant after the version
(``slim-bookworm``), the same precision (number of numeric components) and a build number,
revision (``-r5``) and build counter (``-ls301``) on both or on neither. :func:`rank_tags`
returns two answers: the newest tag on the current *line* (every component but the last
kept) and the newest tag of the family. Every other offered tag is rejected with a stable
:class:`Reason`. Pure: no I/O. See ``docs/tags.md``.

Modules: :mod:`.parse` reads one tag (:mod:`.tail` what follows its numbers, :mod:`.parsed`
what it was read as), :mod:`.policy` holds the per-image overrides (:mod:`.pattern` matches
their regexes in linear time), :mod:`.rank` compares the offered tags, :mod:`.reason` names why
a tag is no candidate.
"""

from __future__ import annotations

from watcher.core.tags.parse import ParsedTag, PreRelease, classify_tag, parse_tag
from watcher.core.tags.policy import Strategy, TagPolicy
from watcher.core.tags.rank import RULES_VERSION, TagAnswer, rank_tags
from watcher.core.tags.reason import Reason

__all__ = [
    "RULES_VERSION",
    "ParsedTag",
    "PreRelease",
    "Reason",
    "Strategy",
    "TagAnswer",
    "TagPolicy",
    "classify_tag",
    "parse_tag",
    "rank_tags",
]
