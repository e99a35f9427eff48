"""Images named in compose files and Kubernetes manifests.

Compose: ``services.<name>.image`` is a base only when the service has no ``build``; with
``build``, ``image`` names what is built, and the Dockerfile ``build`` points at (``context``
plus ``dockerfile``, with its ``args``) is what uses bases. ``${VAR}`` and
``${VAR:-default}`` are substituted from the source's ``build_args``, as compose does from
the environment.

Kubernetes: every document with ``apiVersion`` and ``kind`` (``List`` items too), searched
for ``containers``, ``initContainers`` and ``ephemeralContainers`` at any depth, so Pods,
Deployments, StatefulSets, DaemonSets, Jobs, CronJobs and custom resources that embed a pod
template all count.

YAML is read with the safe loader; aliases are walked once each (an alias bomb costs no
more than its text), and depth and size are capped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from watcher.core.buildfile import Problem, expand

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
CONTAINER_KEYS = ("containers", "initContainers", "ephemeralContainers")


@dataclass(frozen=True)
class ImageUse:
    """``image`` as written (after substitution) in a manifest, and where."""

    image: str
    written: str
    line: int
    context: str          # "service web" or "Deployment shop/web, container app"


@dataclass(frozen=True)
class ComposeBuild:
    """A compose service built from a Dockerfile."""

    service: str
    context: str          # relative to the compose file's directory
    dockerfile: str       # relative to the context
    args: Mapping[str, str]
    image: str | None     # the name the built image gets, when given
    line: int


@dataclass(frozen=True)
class ManifestScan:
    uses: tuple[ImageUse, ...] = ()
    builds: tuple[ComposeBuild, ...] = ()
    problems: tuple[Problem, ...] = ()
    recognised: bool = False  # compose or Kubernetes: else the file is not ours to judge


class _Loader(yaml.SafeLoader):
    """The safe loader, keeping each mapping's line for the messages."""


def _mapping_with_line(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=False)
    return _Lined(mapping, node.start_mark.line + 1)


class _Lined(dict[Any, Any]):
    def __init__(self, mapping: Mapping[Any, Any], line: int) -> None:
        super().__init__(mapping)
        self.line = line


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def _documents(text: str) -> tuple[list[Any], Problem | None]:
    if len(text) > MAX_MANIFEST_BYTES:
        return [], Problem(0, f"larger than {MAX_MANIFEST_BYTES // (1024 * 1024)} MiB")
    try:
        return [d for d in yaml.load_all(text, Loader=_Loader) if d is not None], None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        reason = getattr(exc, "problem", None) or "cannot be parsed"
        return [], Problem(line, f"not valid YAML: {reason}")
    except (RecursionError, ValueError) as exc:  # very deep nesting, odd scalars
        return [], Problem(0, f"not valid YAML: {type(exc).__name__}")


def scan_compose(text: str, values: Mapping[str, str] = {}) -> ManifestScan:
    documents, problem = _documents(text)
    if problem is not None:
        return ManifestScan(problems=(problem,), recognised=True)
    document = documents[0] if documents else None
    services = document.get("services") if isinstance(document, dict) else None
    if not isinstance(services, dict):
        return ManifestScan(recognised=isinstance(document, dict))
    uses: list[ImageUse] = []
    builds: list[ComposeBuild] = []
    problems: list[Problem] = []
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        line = getattr(service, "line", 0)
        image = service.get("image")
        image_text = _substitute(image, values, line, problems) if isinstance(image, str) else None
        build = service.get("build")
        if build is not None:
            parsed = _compose_build(str(name), build, image_text, values, line, problems)
            if parsed is not None:
                builds.append(parsed)
        elif image_text is not None:
            uses.append(ImageUse(image_text, str(image), line, f"service {name}"))
    return ManifestScan(tuple(uses), tuple(builds), tuple(problems), recognised=True)


def _compose_build(
    service: str, build: Any, image: str | None, values: Mapping[str, str], line: int,
    problems: list[Problem],
) -> ComposeBuild | None:
    if isinstance(build, str):
        return ComposeBuild(service, build, "Dockerfile", {}, image, line)
    if not isinstance(build, dict):
        problems.append(Problem(line, f"service {service}: build is neither a path nor a table"))
        return None
    if "dockerfile_inline" in build:
        return None  # no file to point at; its FROM lines are rare enough to leave
    context = build.get("context", ".")
    dockerfile = build.get("dockerfile", "Dockerfile")
    if not isinstance(context, str) or not isinstance(dockerfile, str):
        problems.append(Problem(line, f"service {service}: build context/dockerfile not text"))
        return None
    if "://" in context:
        return None  # a git URL: not on this disk
    args: dict[str, str] = {}
    raw = build.get("args") or {}
    items: list[tuple[str, Any]] = []
    if isinstance(raw, dict):
        items = [(str(k), v) for k, v in raw.items()]
    elif isinstance(raw, list):  # ["NAME=value", "NAME"]: a bare NAME comes from compose's
        for item in raw:         # environment, which watcher does not have: left out
            name, sep, value = str(item).partition("=")
            items.append((name, value if sep else None))
    for key, value in items:
        if value is not None:
            args[key] = expand(str(value), values)[0]
    return ComposeBuild(service, context, dockerfile, args, image, line)


def _substitute(
    text: str, values: Mapping[str, str], line: int, problems: list[Problem]
) -> str | None:
    result, missing = expand(text.replace("$$", "\\$"), values)
    if missing:
        problems.append(
            Problem(line, f"{text!r} uses {', '.join(sorted(set(missing)))} with no value: "
                          "give it in build_args")
        )
        return None
    return result


def scan_kubernetes(text: str, values: Mapping[str, str] = {}) -> ManifestScan:
    documents, problem = _documents(text)
    if problem is not None:
        return ManifestScan(problems=(problem,), recognised="apiVersion" in text)
    uses: list[ImageUse] = []
    recognised = False
    for document in _objects(documents):
        recognised = True
        kind = str(document.get("kind"))
        metadata = document.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        what = f"{kind} {namespace + '/' if isinstance(namespace, str) else ''}{name or '?'}"
        for container, line in _containers(document, set(), 0):
            image = container.get("image")
            if isinstance(image, str) and image.strip():
                label = f"{what}, container {container.get('name', '?')}"
                uses.append(ImageUse(image.strip(), image, line, label))
    return ManifestScan(tuple(uses), recognised=recognised)


def _objects(documents: list[Any]) -> Iterator[dict[Any, Any]]:
    for document in documents:
        if isinstance(document, dict) and "apiVersion" in document and "kind" in document:
            if document.get("kind") == "List" and isinstance(document.get("items"), list):
                yield from _objects(document["items"])
            else:
                yield document


def _containers(node: Any, seen: set[int], depth: int) -> Iterator[tuple[dict[Any, Any], int]]:
    """Each container table under ``node``, walking every shared node once."""
    if depth > MAX_DEPTH or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CONTAINER_KEYS and isinstance(value, list):
                for item in value:
                    if isinstance(item, dict) and id(item) not in seen:
                        seen.add(id(item))
                        yield item, getattr(item, "line", 0)
            else:
                yield from _containers(value, seen, depth + 1)
    elif isinstance(node, list):
        for item in node:
            yield from _containers(item, seen, depth + 1)
