"""The whole benchmark: `make bench` runs it, prints every figure and writes docs/benchmarks.md.

    .venv/bin/python bench/harness.py [--sizes 1000,10000,50000] [--concurrency 32]
                                      [--daemon-rounds 24] [--output docs/benchmarks.md]

Starts one registry on loopback (tmpfs, GOGC=400, access log on), pushes N tracked tags (10
per repository; OCI indexes, Docker manifest lists, OCI and Docker manifests mixed), and for
each N runs the real `watcher check` for a baseline, an unchanged and a 5%-moved round, with
the registry's ceiling (a bare aiohttp HEAD loop) measured before and after. Then: a far-away
registry (a delaying TCP proxy, 50 ms round trip), `watcher status` over 10,000 images, tag
ranking of 5,000 tags, the database after 10 unchanged rounds, the daemon's memory over
rounds, and `skopeo inspect --raw` per image as the peer. Stops everything it started.
"""

from __future__ import annotations

import argparse
import itertools
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from suite.delay import DelayProxy  # noqa: E402
from suite.fleet import TAGS_PER_REPOSITORY, Fleet, start_fleet  # noqa: E402
from suite.measure import (  # noqa: E402
    ceiling,
    compile_watcher,
    database_size,
    median_wall,
    run_daemon,
    run_watcher,
    write_config,
)
from suite.report import Results, Round, markdown  # noqa: E402

RTT = 0.05
CEILING_SAMPLE = 10_000
DAEMON_NOISE_MB = 2.0
ESTIMATE_MARGIN = 1.5  # a larger N costs more per tag than the last (and load varies)
DAEMON_AT_LEAST = 45.0  # seconds kept for the daemon's rounds
MOVED_UP_TO = 10_000  # larger N: baseline and unchanged rounds only (time budget)
MB = 1024 * 1024


class Bench:
    def __init__(self, fleet: Fleet, scratch: Path, results: Results, concurrency: int,
                 sizes: list[int]):
        self.fleet, self.scratch, self.results = fleet, scratch, results
        self.concurrency = concurrency
        self.sizes = sizes
        self.previous: list[str] = []  # refs pushed before this size
        self.estimate = (0.0, 0.0)  # seconds per tag, fixed seconds: for a larger N
        self.peak_rss: dict[int, float] = {}  # N -> peak RSS (KB) of its unchanged round

    def say(self, line: str) -> None:
        print(line, flush=True)

    def check(self, size: int, label: str, config: Path, database: Path,
              ceiling_rate: float) -> Round:
        self.fleet.mark()
        run = run_watcher(["check", "--config", str(config)])
        if run.returncode:
            self.results.notes.append(f"`watcher check` ({label}, N={size}) exited 1: "
                                      "a check failed")
        seen = self.fleet.requests()
        rate = size / run.wall
        result = Round(size, label, run.wall, rate, rate / ceiling_rate if ceiling_rate else 0,
                       run.cpu / size * 1e3, seen["HEAD manifest"] / size,
                       seen["GET manifest"] / size, seen["GET tags"] / size,
                       seen["other"] / size, run.max_rss_kb / 1024,
                       database_size(database) / MB)
        self.say(f"  {label:<16} {result.wall:6.2f} s {rate:6.0f} checks/s "
                 f"ratio {result.ratio:.2f}  {result.cpu_ms:.2f} ms CPU/check  "
                 f"HEAD {result.head:.2f} GET {result.get:.2f} tags {result.tags:.2f}/tag  "
                 f"RSS {result.rss_mb:.0f} MB  DB {result.db_mb:.1f} MB")
        if label == "unchanged":
            self.peak_rss[size] = run.max_rss_kb
        return result

    def ceiling(self, refs: list[str]) -> float:
        # At least 5,000 requests, so small N is not all warm-up; above 10,000 tags an even
        # sample of 10,000 of them, so the 50,000 run stays within the time budget.
        sample = refs[:: math.ceil(len(refs) / CEILING_SAMPLE)]
        note = (f"Above {CEILING_SAMPLE:,} tags the ceiling is measured on an even sample of "
                f"{CEILING_SAMPLE:,} of them.")
        if len(refs) > CEILING_SAMPLE and note not in self.results.notes:
            self.results.notes.append(note)
        return ceiling(sample * max(1, math.ceil(5000 / len(sample))), self.concurrency)

    def size(self, size: int) -> Path:
        started = time.perf_counter()
        self.fleet.grow(size)
        refs = self.fleet.refs
        pushed = time.perf_counter() - started
        self.say(f"N={size:,}: pushed in {pushed:.1f} s ({self.fleet.repositories:,} "
                 "repositories)")
        database = self.scratch / f"watcher-{size}.db"
        config = write_config(self.scratch / f"watcher-{size}.toml", database, self.fleet.host,
                              refs, self.concurrency)
        started = time.perf_counter()
        before = self.ceiling(refs)
        ceiling_s = time.perf_counter() - started
        rounds = [self.check(size, "baseline", config, database, before)]
        rounds.append(self.check(size, "unchanged", config, database, before))
        # What a larger N costs per tag (push, baseline, unchanged), and two ceilings fixed
        self.estimate = (pushed / (size - len(self.previous)) + sum(r.wall for r in rounds) / size,
                         2 * ceiling_s)
        self.previous = refs
        if size == self.sizes[0]:
            first = database_size(database)
            for _ in range(9):
                self.check(size, "unchanged (more)", config, database, before)
            tenth = database_size(database)
            self.results.met_at_most(
                f"database growth over unchanged rounds (N={size:,}, after 10 vs after the "
                "first)", 0, (tenth - first) / 1024, " KB",
                f"{first / MB:.2f} MB -> {tenth / MB:.2f} MB")
        if size <= MOVED_UP_TO:
            self.fleet.move(refs[::20])
            rounds.append(self.check(size, "5% moved", config, database, before))
        elif "moved" not in " ".join(self.results.notes):
            self.results.notes.append(
                f"Above {MOVED_UP_TO:,} images only the baseline and unchanged rounds run "
                "(the 5%-moved round would not fit the 10-minute budget).")
        after = self.ceiling(refs)
        mean = (before + after) / 2
        self.say(f"  ceiling {before:.0f} / {after:.0f} HEAD/s (mean {mean:.0f})")
        self.results.ceilings.append((size, before, after))
        for r in rounds:
            self.results.rounds.append(Round(**{**r.__dict__, "ratio": r.checks_per_s / mean}))
        return database

    # -- single figures -------------------------------------------------------------------

    def far_away(self, count: int) -> None:
        refs = self.fleet.refs[:count]
        host, port = self.fleet.host.rsplit(":", 1)
        with DelayProxy(host, int(port), rtt=RTT) as proxy:
            far = [proxy.host + ref[len(self.fleet.host):] for ref in refs]
            database = self.scratch / "far.db"
            config = write_config(self.scratch / "far.toml", database, proxy.host, far,
                                  self.concurrency)
            baseline = run_watcher(["check", "--config", str(config)])
            unchanged = run_watcher(["check", "--config", str(config)])
        bound = math.ceil(count / self.concurrency) * RTT
        self.say(f"far away ({RTT * 1e3:.0f} ms RTT): baseline {baseline.wall:.2f} s, "
                 f"unchanged {unchanged.wall:.2f} s; ceil(N/concurrency)*RTT = {bound:.2f} s")
        near = [r for r in self.results.rounds if r.size == count and r.label == "unchanged"]
        why = (f"the same round with no delay took {near[0].wall:.2f} s ({near[0].cpu_ms:.2f} "
               "ms CPU per check, start-up included): the time is spent in the client and "
               "the registry, not in round trips" if near else "")
        self.results.met_at_most(
            f"far-away registry ({RTT * 1e3:.0f} ms RTT): {count:,} unchanged checks, "
            f"concurrency {self.concurrency}, wall / (ceil(N/c) * RTT = {bound:.2f} s)",
            1.5, unchanged.wall / bound, "x",
            f"{unchanged.wall:.2f} s = {unchanged.wall / bound:.2f}x", why)
        self.results.lines.append(
            f"Far-away registry, {count:,} images: baseline round {baseline.wall:.2f} s, "
            f"unchanged round {unchanged.wall:.2f} s (start-up included; the baseline lists "
            f"each repository's tags once, the unchanged round reuses those listings within "
            f"the tag-listing interval)")

    def status(self, database: Path, images: int, runs: int = 5) -> None:
        # `status --help` imports everything `status` does and reads nothing: start-up alone.
        loading, _, _ = median_wall(["status", "--help"], runs)
        self.results.lines.append(
            f"`watcher status --help` (start-up with every module `status` imports, no "
            f"database): median {loading * 1e3:.0f} ms of {runs}")
        for label, extra in (("`watcher status`", []), ("`watcher status --json`", ["--json"])):
            median, best, worst = median_wall(
                ["status", "--database", f"sqlite:///{database}", *extra], runs)
            self.say(f"{label} over {images:,} images: median {median * 1e3:.0f} ms "
                     f"(best {best * 1e3:.0f}, worst {worst * 1e3:.0f})")
            why = (f"start-up and imports take {loading:.2f} s of it (SQLAlchemy alone about "
                   f"0.1 s), reading and laying out {images:,} images the other "
                   f"{median - loading:.2f} s")
            self.results.met_at_most(f"{label}, {images:,} images, wall with start-up "
                                     f"(median of {runs})", 0.5, median, " s", why=why)

    def startup(self) -> None:
        median, best, _ = median_wall(["--version"], 5)
        self.say(f"start-up (`watcher --version`): median {median * 1e3:.0f} ms")
        self.results.lines.append(
            f"Start-up alone, `watcher --version` (it imports click and no subcommand): median "
            f"{median * 1e3:.0f} ms, best {best * 1e3:.0f} ms of 5; every wall time above "
            "includes it")

    def tags(self) -> None:
        import tags_rank

        from watcher.core.tags import parse as tag_module
        from watcher.core.tags import rank_tags
        from watcher.core.tags import tail as tail_module

        worst = 0.0
        for name, current, offered in (
            ("corpus", "3.12.7-slim-bookworm", tags_rank.corpus_tags()),
            ("synthesized", "3.12.7-slim-bookworm", tags_rank.synthesized_tags()),
            ("publishers", "4.0.3.2903-ls3", tags_rank.publisher_tags()),
        ):
            cpu = []
            for _ in range(7):
                tag_module._parse.cache_clear()
                tail_module._read_tail.cache_clear()
                start = time.process_time()
                rank_tags(current, offered)
                cpu.append(time.process_time() - start)
            worst = max(worst, statistics.median(cpu))
            self.say(f"rank_tags, {len(offered):,} {name} tags, cold: "
                     f"{statistics.median(cpu) * 1e3:.1f} ms CPU (median of 7)")
            listing = self.scratch / f"tags-{name}.txt"
            listing.write_text("\n".join(offered) + "\n")
            wall, _, _ = median_wall(["tags", "--from", str(listing), current], 3)
            self.results.lines.append(
                f"`watcher tags --from FILE` over {len(offered):,} {name} tags: "
                f"{wall * 1e3:.0f} ms wall with start-up (median of 3); ranking alone "
                f"{statistics.median(cpu) * 1e3:.1f} ms CPU cold")
        self.results.met_at_most("`watcher tags` ranking 5,000 tags, work cold (worst of the "
                                 "three lists, CPU)", 50, worst * 1e3, " ms")

    def daemon(self, database: Path, size: int, rounds: int, budget: float) -> None:
        """The daemon over a copy of the N=size database (its baseline already recorded)."""
        refs = self.fleet.refs[:size]
        config = write_config(self.scratch / "daemon.toml", database, self.fleet.host, refs,
                              self.concurrency, interval="1s")
        run = run_daemon(config, rounds, budget)
        rss = [kb / 1024 for kb in run.rss_kb]
        self.say(f"daemon, {size:,} images: {run.rounds} rounds in {run.wall:.0f} s; RSS after "
                 f"each (MB): {' '.join(f'{r:.0f}' for r in rss)}")
        if run.rounds < rounds:
            self.results.notes.append(
                f"The daemon ran {run.rounds} rounds of {size:,} images, not {rounds}: "
                f"the time budget ({budget:.0f} s) of a 10-minute run allowed no more.")
        if len(rss) >= 2:
            settled, last = rss[0], rss[-1]
            self.results.met_at_most(
                f"daemon RSS growth, {size:,} images, after round 1 to after round {run.rounds} "
                f"(noise taken as {DAEMON_NOISE_MB:g} MB)", DAEMON_NOISE_MB, last - settled, " MB",
                f"{settled:.0f} MB -> {last:.0f} MB "
                f"(peak {run.peak_kb / 1024:.0f} MB)")
        self.results.lines.append(
            f"Daemon (`watcher run`, interval 1 s), {size:,} images: RSS after each round "
            f"(MB) {', '.join(f'{r:.0f}' for r in rss)}; peak {run.peak_kb / 1024:.0f} MB")

    def skopeo(self, sample: int, total: int) -> None:
        if shutil.which("skopeo") is None:
            self.say("skopeo is not installed (apt-get install skopeo): the peer is left out")
            self.results.notes.append("The peer was left out: skopeo is not installed.")
            return
        refs = self.fleet.refs[:: max(1, len(self.fleet.refs) // sample)][:sample]
        started = time.perf_counter()
        for ref in refs:
            subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                            f"docker://{ref}"], check=True, stdout=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL)
        each = (time.perf_counter() - started) / len(refs)
        self.say(f"skopeo inspect --raw: {each * 1e3:.1f} ms per image ({len(refs)} sampled)")
        self.results.lines.append(
            f"Peer: `skopeo inspect --raw` one process per image, one after another: "
            f"{each * 1e3:.1f} ms per image ({1 / each:.0f} images/s), measured on a sample of "
            f"{len(refs)} images and extrapolated: {total:,} images would take "
            f"{each * total:.0f} s")

    def targets(self, size: int) -> None:
        rounds = {r.label: r for r in self.results.rounds if r.size == size}
        unchanged = rounds["unchanged"]
        self.results.met_at_least(
            f"unchanged round at N={size:,}: checks/s over the ceiling's", 0.6,
            unchanged.ratio, "", f"{unchanged.ratio:.2f} ({unchanged.checks_per_s:.0f} checks/s)",
            why=f"the client is CPU-bound: {unchanged.cpu_ms:.2f} ms CPU per check (start-up "
                "included), most of it in the HTTP stack (httpx's request, URL and header "
                "objects over aiohttp), then the SQLite writer (see the notes)")
        between = unchanged.head + unchanged.get + unchanged.other
        self.results.met_exactly(
            f"requests per unchanged tag at N={size:,}, between tag listings (no auth: no token "
            "fetches)", 1.0, between,
            f"{between:.2f} (HEAD {unchanged.head:.2f}, GET {unchanged.get:.2f}, "
            f"other {unchanged.other:.2f})")
        self.results.lines.append(
            f"Tag listings at N={size:,} ({TAGS_PER_REPOSITORY} tracked tags per repository): "
            + ", ".join(f"{r.label} {r.tags:.2f}" for r in rounds.values())
            + " per tag; an unchanged round within the tag-listing interval reuses the stored "
            f"listings, so it makes {between + unchanged.tags:.2f} requests per tag in all")

    def memory(self) -> None:
        sizes = sorted(self.peak_rss)
        parts = []
        for low, high in itertools.pairwise(sizes):
            grow = (self.peak_rss[high] - self.peak_rss[low]) / (high - low)
            parts.append(f"{grow:.2f} KB per image from {low:,} to {high:,}")
        self.results.lines.append(
            "Peak RSS of the unchanged round: " + ", ".join(
                f"{self.peak_rss[n] / 1024:.0f} MB at {n:,}" for n in sizes)
            + ("; " + ", ".join(parts) if parts else ""))
        if 10_000 in self.peak_rss:
            self.results.met_at_most("peak RSS of an unchanged 10,000-image round", 150,
                                     self.peak_rss[10_000] / 1024, " MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--daemon-rounds", type=int, default=24)
    parser.add_argument("--skopeo-sample", type=int, default=100)
    parser.add_argument("--budget", type=float, default=570.0,
                        help="seconds the whole run may take; the daemon gets what is left")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    started = time.perf_counter()
    results = Results()
    results.record_load("start")
    results.notes.append(
        "The registry runs with its access log on (to a file on tmpfs), for the ceiling and the "
        "rounds alike, so that every request a round makes is counted; it costs the registry "
        "a little throughput on both sides of the ratio. No auth: no token fetches to count.")
    compile_watcher()
    results.notes.append(
        "Where an unchanged round's time goes (py-spy, 10,000 images): the event loop's "
        "thread is busy throughout, about 60% of it in the HTTP stack (per HEAD httpx builds "
        "a Request with its URL and Headers and hands it to aiohttp through httpx-aiohttp; "
        "aiohttp then writes and parses it), the rest in the round's own work and start-up. "
        "The database writer runs beside it in a thread, a batch of up to 500 checks per "
        "transaction (one locking SELECT and one executemany UPDATE for unchanged ones).")
    results.notes.append(
        "watcher runs from bytecode, as installed: the harness byte-compiles the package "
        "first and runs each child without PYTHONDONTWRITEBYTECODE.")
    scratch = Path(tempfile.mkdtemp(prefix="watcher-bench-"))
    fleet = start_fleet()
    deadline = started + args.budget
    try:
        bench = Bench(fleet, scratch, results, args.concurrency, sizes)
        bench.tags()
        bench.startup()
        # status, the daemon and the targets at 10,000 images (or the largest N below it)
        main_size = max([s for s in sizes if s <= 10_000] or sizes[:1])
        for size in sizes:
            if size > main_size:
                per_tag, fixed = bench.estimate
                per_tag *= ESTIMATE_MARGIN
                left = deadline - time.perf_counter() - DAEMON_AT_LEAST - fixed
                fits = int(left / per_tag) // 1000 * 1000 if per_tag else size
                if fits < size:
                    results.notes.append(
                        f"N={size:,} would not fit the time budget at this machine's speed "
                        f"(about {per_tag * size + fixed:.0f} s); "
                        + (f"N={fits:,} ran instead." if fits > main_size else "it was left out."))
                    if fits <= main_size:
                        continue
                    size = fits
            database = bench.size(size)
            results.record_load(f"after N={size:,}")
            if size == sizes[0]:
                bench.far_away(min(1000, size))
                bench.skopeo(args.skopeo_sample, 10_000)
            if size == main_size:
                daemon_db = scratch / "daemon.db"
                for suffix in ("", "-wal"):
                    if Path(f"{database}{suffix}").exists():
                        shutil.copyfile(f"{database}{suffix}", f"{daemon_db}{suffix}")
                bench.status(database, size)
                bench.targets(size)
        bench.memory()
        left = deadline - time.perf_counter() - 10  # stopping it, writing the page
        bench.daemon(daemon_db, main_size, args.daemon_rounds, max(DAEMON_AT_LEAST, left))
    finally:
        fleet.registry.close()
        shutil.rmtree(scratch, ignore_errors=True)
    results.record_load("end")
    results.seconds = time.perf_counter() - started
    page = markdown(results)
    print(page)
    args.output.write_text(page)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
