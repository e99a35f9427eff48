"""A simulation of shared replicas (docs/scaling.md): 100,000 images over 20 registries,
Docker Hub-like limits, 1 to 8 replicas claiming batches from one due queue.

    python bench/replicas_sim.py [--images 100000] [--write docs/scaling.md]

A fast model, pure computation: no registry, no database. Each replica claims a batch of
``claim_batch`` due images (the oldest first, so every registry's images are mixed in it),
checks it with a per-registry concurrency and the registry's rate divided among the live
replicas, and claims again when the whole batch is recorded. A check costs the measured CPU
of one unchanged check (docs/benchmarks.md) on the replica's one event loop, and the
registry's round trip. Database work is counted per statement as watcher issues them. The
figures (printed, and with --write put between the simulation markers of docs/scaling.md)
feed the sizing advice.
"""

from __future__ import annotations

import argparse
import heapq
import random
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CPU_PER_CHECK = 0.002  # seconds: an unchanged check's CPU (docs/benchmarks.md, N=10,000)
CLAIM_BATCH = 50
LEASE = 120.0
INTERVAL = 3600.0
MOVED_SHARE = 0.01  # of the tags, per round: a GET manifest each (Docker Hub counts it)
HUB_PULLS_PER_6H = 200  # an authenticated free account's pull budget
# Statements per unit of work, as watcher issues them (service.fleet, store.leases, .fleet).
CLAIM_STATEMENTS = 2  # SELECT ... FOR UPDATE SKIP LOCKED, UPDATE the lease
RECORD_STATEMENTS = 2  # per image: SELECT ... FOR UPDATE, UPDATE its state (unchanged)
RELEASE_STATEMENTS = 1  # per batch: one executemany UPDATE (next_check_at, lease cleared)
BUDGET_STATEMENTS = 2  # per batch: read registry_budgets; per round end: upsert them
HEARTBEAT_STATEMENTS = 5  # per heartbeat: upsert, renew images, renew deliveries, prune, count
IDLE_TICK = 1.0  # seconds: a replica with nothing to check looks for due work this often


@dataclass(frozen=True)
class Registry:
    name: str
    share: float  # of the images
    concurrency: int  # per replica (watcher's default for Docker Hub: 4; others 8)
    rtt: float  # seconds per request
    rate: float | None  # requests per second, fleet-wide (None: unlimited)


def registries(hub_rate: float = 10.0, hub_concurrency: int = 4) -> list[Registry]:
    """Docker Hub (by default at watcher's own pace: 10 requests/s, 4 at a time), three
    large public registries, and 16 private ones on the same network."""
    found = [Registry("docker.io", 0.30, hub_concurrency, 0.080, hub_rate),
             Registry("ghcr.io", 0.12, 8, 0.060, None),
             Registry("quay.io", 0.08, 8, 0.090, 20.0),
             Registry("public.ecr.aws", 0.06, 8, 0.070, 15.0)]
    rest = 1.0 - sum(r.share for r in found)
    found += [Registry(f"registry-{n:02}.internal", rest / 16, 8, 0.010, None)
              for n in range(16)]
    return found


@dataclass
class Outcome:
    replicas: int
    round_seconds: float
    checks_per_replica_minute: float
    busiest_share: float  # the busiest replica's share of the checks, 1/replicas if even
    idle_share: float  # time replicas spent with nothing to claim, of the round
    bound: str


def simulate(images: int, replicas: int, regs: list[Registry], seed: int = 7) -> Outcome:
    """One full round (every image due at once, as at a start on an empty database)."""
    rng = random.Random(seed)
    queue = rng.choices(range(len(regs)), weights=[r.share for r in regs], k=images)
    # Each registry's fleet-wide rate is shared: each replica paces at rate / replicas; a
    # registry's next free request time per replica models that pacing.
    next_request = [[0.0] * len(regs) for _ in range(replicas)]
    free_at = [(0.0, n) for n in range(replicas)]
    heapq.heapify(free_at)
    done = [0] * replicas
    busy = [0.0] * replicas
    position = 0
    finish = 0.0
    while position < len(queue):
        now, replica = heapq.heappop(free_at)
        batch = queue[position:position + CLAIM_BATCH]
        position += len(batch)
        per_registry: dict[int, int] = {}
        for index in batch:
            per_registry[index] = per_registry.get(index, 0) + 1
        ends = now
        for index, count in per_registry.items():
            reg = regs[index]
            # Concurrency-bound: `concurrency` requests at a time, each one RTT.
            waves = -(-count // reg.concurrency)
            end = now + waves * reg.rtt
            if reg.rate is not None:  # rate-bound: this replica's share of the rate
                spacing = replicas / reg.rate
                start = max(now, next_request[replica][index])
                paced = start + (count - 1) * spacing + reg.rtt
                next_request[replica][index] = start + count * spacing
                end = max(end, paced)
            ends = max(ends, end)
        cpu = len(batch) * CPU_PER_CHECK
        ends = max(ends, now + cpu)
        busy[replica] += ends - now
        done[replica] += len(batch)
        finish = max(finish, ends)
        heapq.heappush(free_at, (ends, replica))
    limits = {
        "Docker Hub's rate": images * regs[0].share / (regs[0].rate or 1e9),
        "CPU": images * CPU_PER_CHECK / replicas,
        "the other registries' rates": max(images * r.share / r.rate
                                           for r in regs[1:] if r.rate),
    }
    bound = max(limits, key=lambda k: limits[k])
    if finish > 1.2 * max(limits.values()):
        bound = "batches waiting for their slowest registry"
    idle = 1.0 - sum(busy) / (replicas * finish) if finish else 0.0
    return Outcome(replicas, finish, images / replicas / (finish / 60.0),
                   max(done) / images, idle, bound)


def database_load(images: int, replicas: int) -> dict[str, float]:
    """Statements per check, and per second at one check of every image per interval."""
    batches = images / CLAIM_BATCH
    statements = (batches * (CLAIM_STATEMENTS + RELEASE_STATEMENTS + BUDGET_STATEMENTS)
                  + images * RECORD_STATEMENTS)
    transactions = batches * 3 + images  # claim, release, budgets read; one per record
    heartbeats = replicas * INTERVAL / (LEASE / 3)
    idle_claims = replicas * INTERVAL / IDLE_TICK  # at most: a tick that finds nothing due
    statements += heartbeats * HEARTBEAT_STATEMENTS + idle_claims
    transactions += heartbeats + idle_claims
    return {"statements_per_check": statements / images,
            "transactions_per_check": transactions / images,
            "statements_per_second": statements / INTERVAL,
            "transactions_per_second": transactions / INTERVAL}


def _table(images: int, regs: list[Registry]) -> list[str]:
    lines = ["| replicas | full round | checks per replica per minute | busiest replica's share "
             "| idle | bound by |",
             "|---:|---:|---:|---:|---:|---|"]
    for count in (1, 2, 3, 4, 6, 8):
        o = simulate(images, count, regs)
        lines.append(f"| {count} | {o.round_seconds / 60:.1f} min | "
                     f"{o.checks_per_replica_minute:,.0f} | {o.busiest_share:.1%} | "
                     f"{o.idle_share:.0%} | {o.bound} |")
    return lines


def report(images: int) -> list[str]:
    regs = registries()
    hub = images * regs[0].share
    lines = [
        f"Model: {images:,} images over {len(regs)} registries; Docker Hub "
        f"{regs[0].share:.0%} of them at watcher's default pace ({regs[0].rate:g} requests/s "
        f"fleet-wide, {regs[0].concurrency} at a time, {regs[0].rtt * 1e3:.0f} ms), quay.io "
        "20/s, public.ecr.aws 15/s, ghcr.io unlimited, 16 private registries (10 ms); "
        f"claim batches of {CLAIM_BATCH}, {CPU_PER_CHECK * 1e3:.0f} ms CPU per check "
        "(docs/benchmarks.md); one full round, every image due at once.",
        "",
        *_table(images, regs),
        "",
        "The same with Docker Hub at 100 requests/s, 16 at a time (an account allowed more: "
        '`[[registries]] host = "docker.io"`, `rate = "100/s"`, `max_concurrency = 16`):',
        "",
        *_table(images, registries(hub_rate=100.0, hub_concurrency=16)),
    ]
    load = database_load(images, 3)
    pulls = hub * MOVED_SHARE * (6 * 3600 / INTERVAL)
    lines += [
        "",
        f"Database load (3 replicas, every image once per {INTERVAL / 3600:g} h, unchanged "
        "checks, heartbeats and idle claim queries included): "
        f"{load['statements_per_check']:.2f} statements and "
        f"{load['transactions_per_check']:.2f} transactions per check; "
        f"{load['statements_per_second']:.0f} statements/s and "
        f"{load['transactions_per_second']:.0f} transactions/s in all.",
        f"Docker Hub pulls: {hub:,.0f} Hub tags with {MOVED_SHARE:.0%} moving per round "
        f"need {pulls:,.0f} manifest GETs per 6 h (HEADs are not pulls), against a budget of "
        f"{HUB_PULLS_PER_6H} for a free account: the fleet-wide reserve holds the rest back "
        "until the window passes.",
    ]
    return lines


def write(path: Path, lines: list[str]) -> None:
    text = path.read_text()
    block = "<!-- simulation: start -->\n" + "\n".join(lines) + "\n<!-- simulation: end -->"
    new, count = re.subn(r"<!-- simulation: start -->.*?<!-- simulation: end -->", block, text,
                         flags=re.S)
    if count != 1:
        raise SystemExit(f"{path}: no simulation markers to write between")
    path.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--write", type=Path, help="put the figures into this Markdown file")
    args = parser.parse_args()
    lines = report(args.images)
    print("\n".join(lines))
    if args.write:
        write(args.write, lines)


if __name__ == "__main__":
    main()
