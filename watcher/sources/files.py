"""A directory (or git working tree) searched for what is built on which image.

A :class:`FileSource` walks its directory, keeps the files its ``include`` globs match and its
``exclude`` globs do not (``.git`` is never entered, symbolic links never lead outside), and
reads each as a Dockerfile, a compose file or a Kubernetes manifest, by its name. Results
are kept per file with its size and modification time, so scanning again each round
re-reads only the files that changed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from watcher.core.buildfile import UseKind
from watcher.core.globs import Globs
from watcher.core.reference import ImageReference, parse_reference
from watcher.errors import InvalidReference
from watcher.sources.dockerfile import dockerfile_bases
from watcher.sources.manifests import ComposeBuild, scan_compose, scan_kubernetes

DEFAULT_INCLUDE = (
    "**/Dockerfile",
    "**/*.Dockerfile",
    "**/Containerfile",
    "**/*.Containerfile",
    "**/compose*.y*ml",
    "**/docker-compose*.y*ml",
    "**/*.yaml",
    "**/*.yml",
)
DEFAULT_EXCLUDE = ("**/node_modules/**", "**/vendor/**")
MAX_FILES = 100_000
MAX_FILE_BYTES = 4 * 1024 * 1024


class FileKind:
    DOCKERFILE = "dockerfile"
    COMPOSE = "compose"
    KUBERNETES = "kubernetes"


@dataclass(frozen=True)
class FileDependent:
    """One place in a file that uses ``image``."""

    image: ImageReference
    path: str                 # relative to the source's directory, "/"-separated
    line: int
    kind: str                 # "from", "copy-from", "mount-from", "compose", "kubernetes"
    written: str              # as written, before substitution
    stage: str | None = None  # the Dockerfile stage ("runtime", or "stage 2" unnamed)
    context: str | None = None  # compose service or Kubernetes workload and container
    builds: str | None = None   # the image this file builds, when a compose file names it
    platform: str | None = None  # the FROM's --platform, as written

    @property
    def pinned(self) -> bool:
        return self.image.digest is not None


@dataclass(frozen=True)
class FileProblem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else (
            f"{self.path}: {self.message}")


@dataclass(frozen=True)
class FileScan:
    dependents: tuple[FileDependent, ...] = ()
    problems: tuple[FileProblem, ...] = ()
    files_read: int = 0        # read (again) in this scan
    files_unchanged: int = 0   # taken from the last scan
    error: str | None = None   # the directory itself could not be read: nothing was scanned


def classify(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith((".yaml", ".yml")):
        stem = lowered.rsplit(".", 1)[0]
        if stem.startswith(("compose", "docker-compose")):
            return FileKind.COMPOSE
        return FileKind.KUBERNETES
    return FileKind.DOCKERFILE


_Key = tuple[str, tuple[tuple[str, str], ...], str]  # path, build args, compose service


@dataclass
class _Cached:
    stamp: tuple[int, int, int]
    dependents: tuple[FileDependent, ...]
    problems: tuple[FileProblem, ...]
    builds: tuple[tuple[str, ComposeBuild], ...] = ()


@dataclass
class FileSource:
    """One ``[[sources.files]]`` entry."""

    path: Path
    include: Sequence[str] = DEFAULT_INCLUDE
    exclude: Sequence[str] = DEFAULT_EXCLUDE
    build_args: Mapping[str, str] = field(default_factory=dict)
    _cache: dict[_Key, _Cached] = field(
        default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._include = Globs(self.include)
        self._exclude = Globs(self.exclude)

    def scan(self) -> FileScan:
        root = self.path
        if not root.is_dir():
            reason = "does not exist" if not root.exists() else "is not a directory"
            return FileScan(problems=(FileProblem(str(root), 0, reason),), error=reason)
        try:
            with os.scandir(root):
                pass
        except OSError as exc:  # os.walk would skip it silently, as if it were empty
            reason = f"cannot be read: {exc.strerror or exc}"
            return FileScan(problems=(FileProblem(str(root), 0, reason),), error=reason)
        dependents: list[FileDependent] = []
        problems: list[FileProblem] = []
        counts = [0, 0]
        builds: list[tuple[str, ComposeBuild]] = []
        seen_keys: set[_Key] = set()
        for rel in self._files(root, problems):
            cached = self._read(root, rel, None, counts, seen_keys)
            dependents.extend(cached.dependents)
            problems.extend(cached.problems)
            builds.extend(cached.builds)
        built: set[str] = set()
        for compose_path, build in builds:
            target = self._build_target(root, compose_path, build, problems)
            if target is None:
                continue
            built.add(target)
            cached = self._read(root, target, build, counts, seen_keys)
            dependents.extend(cached.dependents)
            problems.extend(cached.problems)
        for key in set(self._cache) - seen_keys:
            del self._cache[key]  # deleted files: their links go, the images' history stays
        # A Dockerfile a compose service builds is read with that service's build args only.
        dependents = [d for d in dependents if d.path not in built or d.context is not None]
        return FileScan(tuple(_deduplicate(dependents)), tuple(problems), counts[0], counts[1])

    def _files(self, root: Path, problems: list[FileProblem]) -> list[str]:
        found: list[str] = []
        for directory, dirs, files in os.walk(root, onerror=None, followlinks=False):
            rel_dir = os.path.relpath(directory, root)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
            dirs[:] = sorted(
                d for d in dirs
                if d != ".git" and not self._exclude.match(f"{rel_dir}{d}/")
            )
            for name in sorted(files):
                rel = f"{rel_dir}{name}"
                if self._include.match(rel) and not self._exclude.match(rel):
                    found.append(rel)
                    if len(found) >= MAX_FILES:
                        problems.append(FileProblem(
                            str(root), 0, f"more than {MAX_FILES} files match; the rest is left"))
                        return found
        return found

    def _build_target(
        self, root: Path, compose_path: str, build: ComposeBuild, problems: list[FileProblem]
    ) -> str | None:
        base = PurePosixPath(compose_path).parent
        target = os.path.normpath(str(base / build.context / build.dockerfile))
        target = target.replace(os.sep, "/")
        if target.startswith("../") or target == ".." or os.path.isabs(target):
            problems.append(FileProblem(compose_path, build.line, (
                f"service {build.service}: its Dockerfile {target} is outside {root}; not read")))
            return None
        if not (root / target).is_file():
            problems.append(FileProblem(compose_path, build.line, (
                f"service {build.service}: its Dockerfile {target} does not exist")))
            return None
        return target

    def _read(
        self,
        root: Path,
        rel: str,
        build: ComposeBuild | None,
        counts: list[int],
        seen_keys: set[_Key],
    ) -> _Cached:
        args = dict(self.build_args)
        if build is not None:
            args.update(build.args)
        key: _Key = (rel, tuple(sorted(args.items())), build.service if build else "")
        seen_keys.add(key)
        full = root / rel
        try:
            if not full.resolve().is_relative_to(root.resolve()):
                return _Cached((0, 0, 0), (), (FileProblem(rel, 0, "links outside; not read"),))
            info = full.stat()
        except OSError as exc:
            return _Cached((0, 0, 0), (), (FileProblem(rel, 0, exc.strerror or str(exc)),))
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        cached = self._cache.get(key)
        if cached is not None and cached.stamp == stamp:
            counts[1] += 1
            return cached
        counts[0] += 1
        cached = _read_file(full, rel, args, build, stamp)
        self._cache[key] = cached
        return cached


def _read_file(
    full: Path, rel: str, args: Mapping[str, str], build: ComposeBuild | None,
    stamp: tuple[int, int, int],
) -> _Cached:
    if stamp[1] > MAX_FILE_BYTES:
        return _Cached(stamp, (), (FileProblem(rel, 0, "too large to be read"),))
    try:
        text = full.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return _Cached(stamp, (), (FileProblem(rel, 0, "not UTF-8 text"),))
    except OSError as exc:
        return _Cached(stamp, (), (FileProblem(rel, 0, exc.strerror or str(exc)),))
    kind = FileKind.DOCKERFILE if build is not None else classify(PurePosixPath(rel).name)
    dependents: list[FileDependent] = []
    problems: list[FileProblem] = []
    builds: list[tuple[str, ComposeBuild]] = []
    if kind == FileKind.DOCKERFILE:
        bases = dockerfile_bases(text, args)
        problems += [FileProblem(rel, p.line, p.message) for p in bases.problems]
        for use in bases.uses:
            stage = use.stage or (f"stage {use.stage_index}" if len(bases.stages) > 1 else None)
            dependents.append(FileDependent(
                use.image, rel, use.line, str(use.kind), use.written, stage,
                f"service {build.service}" if build else None, build.image if build else None,
                use.platform,
            ))
    else:
        scan = scan_compose(text, args) if kind == FileKind.COMPOSE else scan_kubernetes(
            text, args)
        if not scan.recognised:
            return _Cached(stamp, (), ())  # some other YAML: not ours to judge
        problems += [FileProblem(rel, p.line, p.message) for p in scan.problems]
        builds += [(rel, b) for b in scan.builds]
        for image_use in scan.uses:
            try:
                image = parse_reference(image_use.image)
            except InvalidReference as exc:
                problems.append(FileProblem(rel, image_use.line, exc.message))
                continue
            dependents.append(FileDependent(
                image, rel, image_use.line, kind, image_use.written, context=image_use.context))
    return _Cached(stamp, tuple(dependents), tuple(problems), tuple(builds))


def _deduplicate(dependents: list[FileDependent]) -> list[FileDependent]:
    """A Dockerfile read both by itself and for a compose service counts once, with what the
    compose file says about it."""
    chosen: dict[tuple[str, str, int, str], FileDependent] = {}
    for dependent in dependents:
        key = (str(dependent.image), dependent.path, dependent.line, dependent.kind)
        known = chosen.get(key)
        if known is None or (known.context is None and dependent.context is not None):
            chosen[key] = dependent
    return list(chosen.values())


__all__ = ["DEFAULT_EXCLUDE", "DEFAULT_INCLUDE", "FileDependent", "FileKind", "FileProblem",
           "FileScan", "FileSource", "UseKind", "classify"]
