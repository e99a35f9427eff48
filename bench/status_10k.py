"""How long ``watcher status`` takes for 10,000 images: ``Store.statuses()`` and the command.

    .venv/bin/python bench/status_10k.py [--images N] [--database PATH] [--runs N]

Builds a database through the Store API (sync, then one baseline check per image; a third of
the images change later and get pending events, some two or three), then times
``statuses()`` and the whole ``watcher status`` command. Target: well under a second for
10,000 images. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from watcher.core.changes import ImageState, NewerVersions, Observation, WatchPolicy, decide
from watcher.core.observation import OCI_INDEX, ManifestObservation
from watcher.store import Store

T0 = datetime(2024, 5, 1, tzinfo=UTC)
POLICY = WatchPolicy()


def manifest(image: int, version: int) -> ManifestObservation:
    def digest(kind: str) -> str:
        return "sha256:" + f"{kind}{image:08}{version:04}".ljust(64, "0")

    return ManifestObservation(
        digest("i"), OCI_INDEX, {"linux/amd64": digest("a"), "linux/arm64/v8": digest("b")}
    )


def build(store: Store, count: int) -> dict[str, int]:
    refs = [f"registry.example/team{i % 50:02}/app{i:05}:1.{i % 7}" for i in range(count)]
    store.sync_images(refs)
    states = store.load_states(refs)
    rows = {"history": 0, "events": 0}
    for i, ref in enumerate(refs):
        state = states.get(ref, ImageState(ref=ref))
        observation = Observation(T0, manifest=manifest(i, 0), newer=NewerVersions("1.9", "2.0"))
        for version in range(_changes(i) + 1):
            if version:
                newer = NewerVersions(f"1.{9 + version}", "2.0") if version == 2 else None
                observation = Observation(
                    T0 + timedelta(hours=version), manifest=manifest(i, version), newer=newer
                )
            decision = decide(state, observation, POLICY)
            store.apply(decision)
            state = decision.image
            rows["history"] += len(decision.history)
            rows["events"] += len(decision.events)
    return rows


def _changes(i: int) -> int:
    """A third of the images changed: one, two or three pending events each."""
    return 0 if i % 3 else 1 + (i // 3) % 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database", type=Path, help="SQLite file (default: a temporary one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        path = args.database or Path(scratch) / "bench.db"
        path.unlink(missing_ok=True)
        with Store.open(f"sqlite:///{path}") as store:
            started = time.perf_counter()
            rows = build(store, args.images)
            built = time.perf_counter() - started
            print(
                f"built {args.images} images, {rows['history']} history rows, "
                f"{rows['events']} pending events in {built:.1f} s "
                f"({built / (args.images + rows['history']) * 1e3:.2f} ms per apply); "
                f"file {path.stat().st_size / 1e6:.1f} MB"
            )

            queries: list[str] = []

            def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
                if not statement.startswith("BEGIN"):
                    queries.append(statement)

            event.listen(store._engine, "before_cursor_execute", count)
            statuses = store.statuses()
            event.remove(store._engine, "before_cursor_execute", count)
            pending = sum(len(s.pending) for s in statuses)
            print(
                f"statuses(): {len(statuses)} images, {pending} pending events, "
                f"{len(queries)} queries"
            )

            for label, call in (
                ("statuses()", store.statuses),
                ("statuses(include_inactive=True)", lambda: store.statuses(include_inactive=True)),
                ("load_states()", store.load_states),
            ):
                timings = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    call()
                    timings.append(time.perf_counter() - started)
                _report(label, timings)

        # What a person waits for: the whole command, interpreter start-up included.
        watcher = Path(sys.executable).with_name("watcher")
        for label, extra in (("`watcher status`", []), ("`watcher status --json`", ["--json"])):
            timings = []
            for _ in range(args.runs):
                started = time.perf_counter()
                subprocess.run(
                    [str(watcher), "status", "--database", f"sqlite:///{path}", *extra],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                timings.append(time.perf_counter() - started)
            _report(label, timings)


def _report(label: str, timings: list[float]) -> None:
    print(
        f"{label}: median {statistics.median(timings) * 1e3:.0f} ms, "
        f"best {min(timings) * 1e3:.0f} ms, worst {max(timings) * 1e3:.0f} ms "
        f"over {len(timings)} runs"
    )


if __name__ == "__main__":
    main()
