"""Two writers at once: a check records its result only against the state it read.

A round runs in this process; at a chosen moment of it a real ``watcher check`` process checks
the same image in the same database (SQLite file or PostgreSQL) while the tag moves. The
interleaving is driven deterministically: the other process runs to completion from inside
the round (right after the round read the stored states, or right after it asked the
registry), so each test is one exact race.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli import run, write_config
from tests.support.registry import RunningRegistry
from watcher.config import load_config
from watcher.service import check_images
from watcher.store import ImageStatus, Store


def _other_writer(config: Path) -> None:
    """A real second process recording a check in the same database."""
    done = subprocess.run(
        [sys.executable, "-m", "watcher", "check", "--config", str(config), "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr


class _HookedStore(Store):
    """The real store, with a hook run right after the round has read the stored states."""

    after_read: Callable[[], None] = staticmethod(lambda: None)

    def load_states(self, *args: Any, **kwargs: Any) -> Any:
        states = super().load_states(*args, **kwargs)
        self.after_read()
        return states


def _changes(store: Store, ref: str) -> list[tuple[str, Any, Any]]:
    return [
        (e.kind.value, e.data.get("old_digest"), e.data.get("new_digest"))
        for e in store.history(ref)
    ]


def _events(store: Store, ref: str) -> list[tuple[Any, Any]]:
    return [(e.data.get("old_digest"), e.data.get("new_digest")) for e in store.events(ref)]


def _setup(
    registry: RunningRegistry, repository: str, store_url: str, tmp_path: Path
) -> tuple[str, str, Path]:
    first = registry.push.push_image(repository, "1.0")
    ref = str(registry.ref(repository, "1.0"))
    config = write_config(
        tmp_path / "watcher.toml", registry, [{"ref": ref, "list_tags": False}],
        database=store_url,
    )
    assert run("check", "--config", str(config)).exit_code == 0  # the baseline: first
    return ref, first, config


def _status(store: Store, ref: str) -> ImageStatus:
    (status,) = [s for s in store.statuses() if s.ref == ref]
    return status


@pytest.mark.registry
def test_an_older_observation_recorded_after_a_newer_one_is_dropped(
    registry_open: RunningRegistry, repository: str, store_url: str, tmp_path: Path
) -> None:
    """This round saw D2; before it records, the tag moves to D3 and the other process
    records D1 -> D3. Recording D1 -> D2 now would cross the events and leave the state at
    D2, where the tag no longer points."""
    push = registry_open.push
    ref, first, config = _setup(registry_open, repository, store_url, tmp_path)
    second = push.move_tag(repository, "1.0")
    third: list[str] = []

    def clock() -> datetime:  # called once the registry answered this round's request
        seen_at = datetime.now(UTC)
        third.append(push.move_tag(repository, "1.0"))
        _other_writer(config)
        return seen_at

    settings = load_config(config)
    with Store.open(store_url) as store:
        report = asyncio.run(check_images(settings, store, settings.images, clock=clock))
        assert _changes(store, ref) == [
            ("baseline", None, None),
            ("digest_changed", first, third[0]),
        ]
        assert _events(store, ref) == [(first, third[0])]
        assert _status(store, ref).state.digest == third[0]
        (check,) = report.checks
        assert check.observation.manifest is not None
        assert check.observation.manifest.digest == second
        assert check.decision.events == ()
        assert check.superseded


@pytest.mark.registry
def test_a_round_decides_against_what_another_process_recorded_meanwhile(
    registry_open: RunningRegistry, repository: str, store_url: str, tmp_path: Path
) -> None:
    """This round read D1; the other process then records D1 -> D2 and the tag moves to D3.
    The round must record D2 -> D3, not a second change from D1 (lost in history)."""
    push = registry_open.push
    ref, first, config = _setup(registry_open, repository, store_url, tmp_path)
    moved: list[str] = []

    def meanwhile() -> None:
        if moved:
            return
        moved.append(push.move_tag(repository, "1.0"))
        _other_writer(config)
        moved.append(push.move_tag(repository, "1.0"))

    settings = load_config(config)
    with _HookedStore.open(store_url) as store:
        assert isinstance(store, _HookedStore)
        store.after_read = meanwhile
        report = asyncio.run(check_images(settings, store, settings.images))
        store.after_read = lambda: None
        second, third = moved
        assert _changes(store, ref) == [
            ("baseline", None, None),
            ("digest_changed", first, second),
            ("digest_changed", second, third),
        ]
        assert _events(store, ref) == [(first, second), (second, third)]
        assert _status(store, ref).state.digest == third
        (check,) = report.checks
        assert check.previous is not None
        assert check.previous.digest == second  # decided against what is stored now
        assert [(e.data["old_digest"], e.data["new_digest"]) for e in check.decision.events] == [
            (second, third)
        ]
        assert not check.superseded
