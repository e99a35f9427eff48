"""What changed inside an image whose tag moved, in words: from its old and new image configs.

Image configs are small blobs (no layers are pulled). What they tell:

- version-like environment variables that changed (``PYTHON_VERSION=3.12.7 -> 3.12.8``,
  ``NGINX_VERSION``, ``NODE_VERSION``, ``JAVA_VERSION``, ...);
- OCI labels that name a version, a revision or a build time;
- when each image was created;

and from those, the class of change: ``rebuild`` (no version moved: the base was refreshed,
security fixes in its packages, say), or a ``patch``, ``minor`` or ``major`` version bump, or
a move to a ``pre-release``. Anything missing (an old manifest the registry no longer has)
leaves that part out; nothing here raises on odd values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from watcher.core.observation import ImageConfig
from watcher.core.sbom import PackageChanges, describe_packages

_VERSION_NAME = re.compile(r"(?:^|_)(?:VERSION|VER|RELEASE)$")
_VERSION_LABELS = (
    "org.opencontainers.image.version",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.created",
    "org.opencontainers.image.base.digest",
)
_NUMBERS = re.compile(r"\d+")
_PRE_RELEASE = re.compile(r"(?i)(?:alpha|beta|rc|pre|dev|snapshot)")
MAX_VALUE = 200  # longer values are cut: an env var is not a place for essays
CLASSES = ("rebuild", "patch", "minor", "major", "pre-release")
REBASE = "rebase"  # beside the change's class: the same version is on a newer OS line


@dataclass(frozen=True)
class Explanation:
    """What changed between two configs of one platform (or of the platforms taken
    together): ``versions`` and ``labels`` map a name to (old, new)."""

    versions: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)
    labels: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)
    created: tuple[str | None, str | None] = (None, None)
    platforms: tuple[str, ...] = ()
    change: str = "rebuild"
    layers: tuple[int, int] | None = None  # (changed, total) in the new image, when known

    def data(self) -> dict[str, Any]:
        return {
            "change": self.change,
            **({"layers": {"changed": self.layers[0], "total": self.layers[1]}}
               if self.layers is not None else {}),
            "versions": {k: list(v) for k, v in self.versions.items()},
            "labels": {k: list(v) for k, v in self.labels.items()},
            "created": list(self.created),
            "platforms": list(self.platforms),
        }


def explain(configs: Mapping[str, tuple[ImageConfig | None, ImageConfig | None]]
            ) -> Explanation | None:
    """``configs``: platform (or ``""`` for a single manifest) -> (old config, new config).
    None when no platform has both configs."""
    versions: dict[str, tuple[str | None, str | None]] = {}
    labels: dict[str, tuple[str | None, str | None]] = {}
    created: tuple[str | None, str | None] = (None, None)
    compared = []
    layers: tuple[int, int] | None = None
    for platform, (old, new) in sorted(configs.items()):
        if old is None or new is None:
            continue
        compared.append(platform)
        if new.layers:
            kept = set(old.layers)
            count = (sum(1 for layer in new.layers if layer not in kept), len(new.layers))
            layers = count if layers is None or count[0] > layers[0] else layers
        old_env, new_env = _env(old), _env(new)
        for name in sorted(set(old_env) | set(new_env)):
            if _VERSION_NAME.search(name) and old_env.get(name) != new_env.get(name):
                versions.setdefault(name, (old_env.get(name), new_env.get(name)))
        for name in _VERSION_LABELS:
            before, after = old.labels.get(name), new.labels.get(name)
            if before != after:
                labels.setdefault(name, (_cut(before), _cut(after)))
        if created == (None, None):
            created = (_cut(old.created), _cut(new.created))
    if not compared:
        return None
    moved = {**versions, **{k: v for k, v in labels.items()
                            if k == "org.opencontainers.image.version"}}
    return Explanation(versions, labels, created, tuple(p for p in compared if p),
                       _classify(moved.values()), layers)


def with_findings(
    data: Mapping[str, Any],
    *,
    packages: PackageChanges | None = None,
    tag: str | None = None,
    rebase: str | None = None,
) -> dict[str, Any]:
    """An explanation's data with what the registry told beyond the configs: the package
    changes of the SBOMs, the precise tag the moved tag now equals, a rebase target.
    ``classes`` lists the change's class and ``rebase`` when one is available."""
    result = dict(data)
    if packages is not None:
        result["packages"] = packages.data()
    if tag is not None:
        result["tag"] = tag
    if rebase is not None:
        result["rebase"] = rebase
    result["classes"] = [str(result.get("change") or "rebuild")] + ([REBASE] if rebase else [])
    return result


def _env(config: ImageConfig) -> dict[str, str]:
    env = {}
    for item in config.env:
        name, sep, value = item.partition("=")
        if sep and name:
            env[name] = _cut(value) or ""
    return env


def _cut(value: str | None) -> str | None:
    if value is None:
        return None
    return value if len(value) <= MAX_VALUE else value[: MAX_VALUE - 1] + "…"


def _classify(moves: Any) -> str:
    """The largest move among the version changes: major > minor > patch; pre-release when
    a new value is one; rebuild when nothing moved."""
    rank = 0
    for old, new in moves:
        if new is not None and _PRE_RELEASE.search(new):
            return "pre-release"
        rank = max(rank, _bump(old, new))
    return CLASSES[rank] if rank else "rebuild"


def _bump(old: str | None, new: str | None) -> int:
    """1 patch, 2 minor, 3 major (by the first number that differs), 1 for any other change."""
    if old == new:
        return 0
    before = [int(n) for n in _NUMBERS.findall(old or "")][:3]
    after = [int(n) for n in _NUMBERS.findall(new or "")][:3]
    for position, (a, b) in enumerate(zip(before, after, strict=False)):
        if a != b:
            return 3 - min(position, 2)
    return 1


def describe_explanation(data: Mapping[str, Any]) -> str:
    """``now 3.12.8-slim-bookworm; Python 3.12.7 -> 3.12.8 (patch); openssl 3.0.13 ->
    3.0.14; 1 package changed; rebase available: 3.12.8-slim-trixie``, or ``rebuilt on the
    same versions`` when that is all there is to say."""
    versions = data.get("versions") or {}
    parts = []
    if isinstance(versions, Mapping):
        for name, pair in list(versions.items())[:4]:
            if isinstance(pair, list | tuple) and len(pair) == 2:
                label = version_word(str(name))
                parts.append(f"{label} {pair[0] or '(none)'} -> {pair[1] or '(none)'}")
    change = str(data.get("change") or "rebuild")
    text = "; ".join(parts) + f" ({change})" if parts else "rebuilt on the same versions"
    tag = data.get("tag")
    if isinstance(tag, str) and tag:
        text = f"now {tag}; {text}"
    packages = data.get("packages")
    if isinstance(packages, Mapping) and (said := describe_packages(packages)):
        text = f"{text}; {said}"
    rebase = data.get("rebase")
    if isinstance(rebase, str) and rebase:
        text = f"{text}; rebase available: {rebase}"
    return text


def version_word(name: str) -> str:
    """``PYTHON_VERSION`` -> ``Python``; ``NGINX_VERSION`` -> ``Nginx``."""
    stem = _VERSION_NAME.sub("", name).strip("_")
    return stem.replace("_", " ").title() if stem else name
