"""What registries say when something was pushed: their webhook payloads, read as pushes.

Four shapes are understood, whatever the Content-Type:

- the CNCF distribution registry's notification envelope
  (``application/vnd.docker.distribution.events.v1+json``: ``{"events": [...]}``, each with
  ``action``, ``target.repository``, ``target.tag``, ``target.mediaType`` and
  ``request.host``); GitLab's container registry sends the same envelope;
- Docker Hub's repository webhook (``push_data.tag``, ``repository.repo_name``);
- Harbor's (``type: PUSH_ARTIFACT``, ``event_data.resources[].resource_url`` and ``tag``,
  ``event_data.repository.repo_full_name``).

A payload is untrusted input: anything that is not one of these is a :class:`HookError`
naming what is wrong; nothing here raises anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from watcher.core.reference import DOCKER_HUB, canonical_host

MAX_EVENTS = 1000  # per payload: a registry batches at most a few dozen
MAX_NAME = 512

# Blob pushes come in the same envelope; only manifests (and indexes) move tags.
_MANIFEST_WORDS = ("manifest", "index")


class HookError(ValueError):
    pass


@dataclass(frozen=True)
class Push:
    """A tag (or, when ``tag`` is None, some manifest) pushed to a repository; ``host`` is
    the registry as the payload names it, None when it does not."""

    host: str | None
    repository: str
    tag: str | None = None


def parse_pushes(document: Any) -> list[Push]:
    """The pushes a webhook payload tells of (pulls, deletes and blob pushes left out)."""
    if not isinstance(document, Mapping):
        raise HookError("the payload is not a JSON object")
    if "events" in document:
        return _distribution(document["events"])
    if "push_data" in document and "repository" in document:
        return _docker_hub(document)
    if "event_data" in document and "type" in document:
        return _harbor(document)
    raise HookError("not a registry notification: expected 'events' (distribution registry, "
                    "GitLab), 'push_data' (Docker Hub) or 'event_data' (Harbor)")


def _distribution(events: Any) -> list[Push]:
    if not isinstance(events, list):
        raise HookError("'events' is not a list")
    if len(events) > MAX_EVENTS:
        raise HookError(f"more than {MAX_EVENTS} events")
    pushes = []
    for event in events:
        if not isinstance(event, Mapping) or event.get("action") != "push":
            continue
        target = event.get("target")
        if not isinstance(target, Mapping):
            continue
        repository = _name(target.get("repository"))
        tag = _tag(target.get("tag"))
        media_type = str(target.get("mediaType") or "")
        if repository is None or (tag is None and not any(
                word in media_type for word in _MANIFEST_WORDS)):
            continue
        request = event.get("request")
        host = request.get("host") if isinstance(request, Mapping) else None
        pushes.append(Push(_host(host), repository, tag))
    return pushes


def _docker_hub(document: Mapping[str, Any]) -> list[Push]:
    push_data, repository = document.get("push_data"), document.get("repository")
    if not isinstance(push_data, Mapping) or not isinstance(repository, Mapping):
        raise HookError("'push_data' and 'repository' must be objects")
    name = _name(repository.get("repo_name"))
    if name is None:
        raise HookError("'repository.repo_name' is missing")
    if "/" not in name:
        name = f"library/{name}"
    return [Push(DOCKER_HUB, name, _tag(push_data.get("tag")))]


def _harbor(document: Mapping[str, Any]) -> list[Push]:
    if document.get("type") not in ("PUSH_ARTIFACT", "pushImage"):
        return []
    data = document.get("event_data")
    if not isinstance(data, Mapping):
        raise HookError("'event_data' is not an object")
    repository = data.get("repository")
    name = _name(repository.get("repo_full_name")) if isinstance(repository, Mapping) else None
    resources = data.get("resources")
    if name is None or not isinstance(resources, list):
        raise HookError("'event_data.repository.repo_full_name' or 'resources' is missing")
    pushes = []
    for resource in resources[:MAX_EVENTS]:
        if not isinstance(resource, Mapping):
            continue
        url = resource.get("resource_url")
        host = str(url).split("/", 1)[0] if isinstance(url, str) and "/" in url else None
        pushes.append(Push(_host(host), name, _tag(resource.get("tag"))))
    return pushes


def _name(value: Any) -> str | None:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        return None
    return value.strip("/").lower()


def _tag(value: Any) -> str | None:
    if not isinstance(value, str) or not value or len(value) > 128:
        return None
    return value


def _host(value: Any) -> str | None:
    if not isinstance(value, str) or not value or len(value) > 255 or "/" in value:
        return None
    return canonical_host(value)


def pushed_images(pushes: list[Push], tracked: list[tuple[str, str, str | None]]) -> set[int]:
    """The indexes of ``tracked`` (registry, repository, tag) that ``pushes`` concern: every
    tracked tag of a pushed repository (a push may move a tag or add a newer one).

    A payload's host is the name its sender reached the registry by, which may not be the
    name watcher uses (``localhost:5000`` for ``127.0.0.1:5000``, a load balancer's name):
    when no tracked image has that host, the repository alone decides. A false match costs
    one request; a missed push waits for the next scheduled round.
    """
    by_repository: dict[str, list[int]] = {}
    for index, (_registry, repository, _tag) in enumerate(tracked):
        by_repository.setdefault(repository, []).append(index)
    hosts = {registry for registry, _, _ in tracked}
    chosen: set[int] = set()
    for push in pushes:
        for index in by_repository.get(push.repository, ()):
            registry = tracked[index][0]
            if push.host is None or push.host == registry or push.host not in hosts:
                chosen.add(index)
    return chosen
