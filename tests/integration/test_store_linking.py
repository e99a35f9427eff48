"""Dependents: a source's links replaced as a whole, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from watcher.core.changes import HistoryKind, Observation, decide
from watcher.core.observation import OCI_INDEX, ManifestObservation
from watcher.store import Link, Store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
PYTHON = "docker.io/library/python:3.12"
NGINX = "docker.io/library/nginx:1.27"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        opened.sync_images([PYTHON, NGINX])
        yield opened


def test_links_are_replaced_whole_and_keep_when_first_seen(store: Store) -> None:
    store.replace_links("engine", "host", [
        Link(PYTHON, "c1", "web", {"running": "sha256:" + "a" * 64}),
        Link(PYTHON, "c2", "worker"),
        Link(NGINX, "c3", "proxy"),
    ], now=T0)
    store.replace_links("engine", "other", [Link(PYTHON, "c9", "elsewhere")], now=T0)
    store.replace_links("engine", "host", [
        Link(PYTHON, "c1", "web", {"running": "sha256:" + "b" * 64}),
        Link(NGINX, "c3", "proxy"),
    ], now=T1)
    found = store.dependents()
    python = [(d.source_name, d.label, d.first_seen_at, d.last_seen_at) for d in found[PYTHON]]
    assert python == [("host", "web", T0, T1), ("other", "elsewhere", T0, T0)]
    assert found[PYTHON][0].details == {"running": "sha256:" + "b" * 64}
    assert [d.label for d in found[NGINX]] == ["proxy"]
    assert store.linked_refs("engine", "host") == {PYTHON, NGINX}
    assert store.linked_refs("engine", "other") == {PYTHON}


def test_removing_every_container_removes_the_links_not_the_history(store: Store) -> None:
    manifest = ManifestObservation("sha256:" + "c" * 64, OCI_INDEX, {})
    store.record(PYTHON, lambda state: decide(state, Observation(T0, manifest=manifest)))
    store.replace_links("engine", "host", [Link(PYTHON, "c1", "web")], now=T0)
    store.replace_links("engine", "host", [], now=T1)
    assert store.dependents() == {}
    assert [e.kind for e in store.history(PYTHON)] == [HistoryKind.BASELINE]
    assert store.dependents([PYTHON], source_kind="engine") == {}


def test_a_link_to_an_image_not_tracked_is_refused_and_nothing_changes(store: Store) -> None:
    store.replace_links("engine", "host", [Link(PYTHON, "c1", "web")], now=T0)
    with pytest.raises(ValueError, match=r"not tracked: ghcr\.io/acme/base:1"):
        store.replace_links("engine", "host", [Link("ghcr.io/acme/base:1", "c2", "x")])
    assert [d.label for d in store.dependents()[PYTHON]] == ["web"]
