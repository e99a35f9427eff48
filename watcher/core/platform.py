"""Platform spellings, normalised the way containerd does.

``linux/arm64`` and ``linux/arm64/v8`` are the same platform, so are ``linux/arm`` and
``linux/arm/v7``, ``linux/amd64`` and ``linux/amd64/v1``, ``linux/x86_64`` and ``linux/amd64``;
os and architecture compare case-insensitively. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# What BuildKit puts in an index beside the images: attestations, never a platform.
ATTESTATION_PLATFORM = "unknown/unknown"

_OS_ALIASES = {"macos": "darwin"}


def _arch_variant(arch: str, variant: str) -> tuple[str, str]:
    """containerd's ``normalizeArch``: one spelling per architecture and variant."""
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant in ("", "v1", "1") else variant
    if arch in ("aarch64", "arm64"):
        if variant in ("", "8", "v8", "v8.0"):
            return "arm64", ""
        if variant in ("9", "9.0", "v9.0"):
            return "arm64", "v9"
        return "arm64", variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant in ("", "7"):
            return "arm", "v7"
        if variant in ("5", "6", "8"):
            return "arm", f"v{variant}"
        return "arm", variant
    return arch, variant


def normalize_platform(text: str) -> str:
    """The canonical ``os/arch[/variant]``: ``Linux/ARM64/v8`` -> ``linux/arm64``.

    A text that is not ``os/arch[/variant]`` comes back lowercased, unchanged otherwise.
    """
    parts = text.strip().lower().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        return text.strip().lower()
    os_name, arch = parts[0], parts[1]
    variant = parts[2] if len(parts) == 3 else ""
    os_name = _OS_ALIASES.get(os_name, os_name)
    arch, variant = _arch_variant(arch, variant)
    return f"{os_name}/{arch}/{variant}" if variant else f"{os_name}/{arch}"


def is_attestation(platform: str) -> bool:
    """True for the ``unknown/unknown`` entries of attestation manifests."""
    return normalize_platform(platform).startswith(ATTESTATION_PLATFORM)


def normalize_platforms(platforms: Mapping[str, str]) -> dict[str, str]:
    """Platform -> digest keyed by canonical spelling, attestation entries dropped.

    Two spellings of one platform keep the first entry, as an index lists them.
    """
    result: dict[str, str] = {}
    for key, digest in platforms.items():
        if is_attestation(key):
            continue
        result.setdefault(normalize_platform(key), digest)
    return result


def spellings(platforms: Iterable[str]) -> dict[str, str]:
    """Canonical spelling -> the spelling given (the first one when two agree)."""
    result: dict[str, str] = {}
    for key in platforms:
        if not is_attestation(key):
            result.setdefault(normalize_platform(key), key)
    return result


def missing_platforms(wanted: Iterable[str] | None, platforms: Mapping[str, str]) -> list[str]:
    """The wanted platforms (as spelled in the config) an index does not have at all.

    A single-platform manifest (no platforms) says nothing about its platform: none missing.
    """
    if not wanted or not platforms:
        return []
    have = set(normalize_platforms(platforms))
    return sorted(p for p in wanted if normalize_platform(p) not in have)


def changed_platforms(
    old: Mapping[str, str], new: Mapping[str, str], watched: frozenset[str] | None = None
) -> dict[str, str]:
    """Platforms whose digest differs, mapped to ``added``, ``removed`` or ``changed``.

    Platforms compare by their normalised spelling (``linux/arm64`` is ``linux/arm64/v8``) and
    are named as the registry spells them now (as it spelled them before, for a removed one).
    Attestation entries are never platforms. With ``watched`` set, other platforms are ignored.
    """
    before_names, after_names = spellings(old), spellings(new)
    before = {key: old[name] for key, name in before_names.items()}
    after = {key: new[name] for key, name in after_names.items()}
    wanted = None if watched is None else {normalize_platform(p) for p in watched}
    result: dict[str, str] = {}
    for key in set(before) | set(after):
        if wanted is not None and key not in wanted:
            continue
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        name = after_names.get(key) or before_names[key]
        result[name] = "added" if was is None else "removed" if now is None else "changed"
    return dict(sorted(result.items()))
