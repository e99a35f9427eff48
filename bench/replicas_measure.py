"""Measured, not modelled: three real `watcher run` replicas sharing one PostgreSQL database,
busy all the time (an interval of 1 s over 1,000 images on the registry on loopback), for
checks per replica per minute and the database's work per check.

    python bench/replicas_measure.py [--seconds 40] [--write docs/scaling.md]

Starts a throwaway PostgreSQL cluster and registry on loopback (tests/support), pushes 100
repositories of 10 tags, runs the replicas, and after a warm-up reads each replica's checks
from its heartbeat and the database's commits and row operations from
``pg_stat_database``. Stops everything it started. The machine's cores are shared by the
three replicas, PostgreSQL and the registry: the figures are a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from tests.support import wait_until  # noqa: E402
from tests.support.postgres import find_binaries, start_server  # noqa: E402
from tests.support.registry import start_registry  # noqa: E402

REPOSITORIES, TAGS, REPLICAS = 100, 10, 3
DAEMON = [sys.executable, "-m", "watcher", "--log-json", "run", "--config"]


def _config(path: Path, database: str, host: str) -> None:
    lines = ["[watcher]", f'database = "{database}"', 'replicas = "shared"', 'interval = "1s"',
             "jitter = 0", 'lease = "6s"', "claim_batch = 50", 'keep_history = "forever"',
             "", "[[registries]]", f'host = "{host}"', "insecure = true", "retries = 0"]
    for r in range(REPOSITORIES):
        for t in range(TAGS):
            lines += ["", "[[images]]", f'ref = "{host}/bench/r{r:03}:t{t}"', "list_tags = false"]
    path.write_text("\n".join(lines) + "\n")


def _stats(engine: sa.Engine, name: str) -> dict[str, int]:
    with engine.connect() as connection:
        row = connection.execute(sa.text(
            "SELECT xact_commit, tup_fetched, tup_inserted, tup_updated, tup_deleted "
            "FROM pg_stat_database WHERE datname = :n"), {"n": name}).one()
    return dict(zip(("commits", "fetched", "inserted", "updated", "deleted"), map(int, row),
                    strict=True))


def _checks(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {n: int(c) for n, c in connection.execute(sa.text(
            "SELECT name, checks FROM replicas"))}


def measure(seconds: float) -> list[str]:
    binaries = find_binaries()
    if binaries is None:
        raise SystemExit("PostgreSQL server binaries are needed (apt-get install postgresql)")
    server = start_server(binaries)
    registry = start_registry("open")
    scratch = Path(tempfile.mkdtemp(prefix="watcher-replicas-bench-"))
    processes: list[subprocess.Popen[bytes]] = []
    engine: sa.Engine | None = None
    try:
        for r in range(REPOSITORIES):
            body, media_type = registry.push.image_manifest(f"bench/r{r:03}")
            for t in range(TAGS):
                registry.push.put_manifest(f"bench/r{r:03}", f"t{t}", body, media_type)
        name = server.create_database("bench")
        url = server.url(name)
        config = scratch / "watcher.toml"
        _config(config, url, registry.host)
        for n in range(REPLICAS):
            env = {**os.environ, "WATCHER_INSTANCE": f"replica-{n + 1}"}
            log = (scratch / f"replica-{n + 1}.log").open("wb")
            processes.append(subprocess.Popen([*DAEMON, str(config)], stdout=subprocess.DEVNULL,
                                              stderr=log, env=env))
            log.close()
        engine = sa.create_engine(url)
        probe = engine

        def all_checking() -> bool:
            try:
                found = _checks(probe)
            except sa.exc.SQLAlchemyError:
                return False
            return len(found) == REPLICAS and all(found.values())

        wait_until(all_checking, timeout=120, what="every replica checking")
        checks_before, stats_before, started = _checks(engine), _stats(engine, name), \
            time.monotonic()
        wait_until(lambda: time.monotonic() - started >= seconds, timeout=seconds + 5,
                   max_interval=1.0, what="the measurement window")
        checks_after, stats_after = _checks(engine), _stats(engine, name)
        minutes = (time.monotonic() - started) / 60
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                process.kill()
        if engine is not None:
            engine.dispose()
        registry.close()
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    per_replica = {n: (checks_after[n] - checks_before.get(n, 0)) / minutes
                   for n in sorted(checks_after)}
    total = sum(checks_after[n] - checks_before.get(n, 0) for n in checks_after)
    delta = {k: stats_after[k] - stats_before[k] for k in stats_before}
    rows = delta["inserted"] + delta["updated"] + delta["deleted"]
    shown = ", ".join(f"{n} {v:,.0f}" for n, v in per_replica.items())
    return [
        f"Measured (`bench/replicas_measure.py`, this machine: {os.cpu_count()} cores shared by "
        f"the {REPLICAS} replicas, PostgreSQL and the registry): "
        f"{REPOSITORIES * TAGS:,} images, every one due every second, {minutes * 60:.0f} s "
        f"after a warm-up: {total / minutes:,.0f} checks per minute in all; per replica "
        f"{shown}. The database: {delta['commits'] / max(total, 1):.2f} commits and "
        f"{rows / max(total, 1):.2f} rows written per check, "
        f"{delta['commits'] / (minutes * 60):,.0f} commits/s.",
    ]


def write(path: Path, lines: list[str]) -> None:
    text = path.read_text()
    block = "<!-- measured: start -->\n" + "\n".join(lines) + "\n<!-- measured: end -->"
    new, count = re.subn(r"<!-- measured: start -->.*?<!-- measured: end -->", block, text,
                         flags=re.S)
    if count != 1:
        raise SystemExit(f"{path}: no measured markers to write between")
    path.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--write", type=Path, help="put the figures into this Markdown file")
    args = parser.parse_args()
    lines = measure(args.seconds)
    print("\n".join(lines))
    if args.write:
        write(args.write, lines)


if __name__ == "__main__":
    main()
