"""The OCI digest grammar (image-spec descriptor.md), one rule for every layer.

    digest    ::= algorithm ":" encoded
    algorithm ::= [a-z0-9]+ ([+._-] [a-z0-9]+)*
    encoded   ::= [a-zA-Z0-9=_-]+

Registered algorithms constrain the encoded part further: ``sha256`` is 64 lowercase hex
characters, ``sha512`` 128 (``sha384``, 96, is accepted too). A digest of a registered algorithm
that breaks its rule (uppercase hex, wrong length) is not a digest.
"""

from __future__ import annotations

import re

_DIGEST = re.compile(r"(?P<algorithm>[a-z0-9]+(?:[+._-][a-z0-9]+)*):(?P<encoded>[a-zA-Z0-9=_-]+)")
_HEX = re.compile(r"[0-9a-f]+")
HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


def digest_problem(text: str) -> str | None:
    """Why ``text`` is not a valid digest, or ``None`` when it is one."""
    match = _DIGEST.fullmatch(text)
    if match is None:
        return f"{text!r} is not 'algorithm:hex'"
    algorithm, encoded = match["algorithm"], match["encoded"]
    length = HEX_LENGTHS.get(algorithm)
    if length is not None and (len(encoded) != length or not _HEX.fullmatch(encoded)):
        return f"a {algorithm} digest is {length} lowercase hex characters"
    return None


def is_digest(text: str) -> bool:
    """``text`` follows the OCI digest grammar (and its algorithm's encoding rule)."""
    return digest_problem(text) is None


def algorithm_of(digest: str) -> str:
    """``sha256`` for ``sha256:abc...``."""
    return digest.partition(":")[0]
