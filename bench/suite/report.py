"""The figures of one benchmark run, and the Markdown page they make (docs/benchmarks.md)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Round:
    size: int
    label: str
    wall: float
    checks_per_s: float
    ratio: float
    cpu_ms: float
    head: float  # manifest HEADs per tag
    get: float  # manifest GETs per tag
    tags: float  # tag listings per tag
    other: float
    rss_mb: float
    db_mb: float


@dataclass(frozen=True)
class Target:
    what: str
    target: str
    measured: str
    verdict: str


@dataclass
class Results:
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    load: list[tuple[str, tuple[float, float, float]]] = field(default_factory=list)
    ceilings: list[tuple[int, float, float]] = field(default_factory=list)  # N, before, after
    rounds: list[Round] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # other figures, one sentence each
    seconds: float = 0.0

    def record_load(self, when: str) -> None:
        self.load.append((when, os.getloadavg()))

    def met_at_least(self, what: str, target: float, measured: float, unit: str,
                     shown: str = "", why: str = "") -> None:
        """``why``: what the figure is spent on, shown when the target is missed."""
        verdict = ("met" if measured >= target else
                   f"missed by {target - measured:.2f}{unit} ({measured / target:.0%} of it)"
                   + (f"; {why}" if why else ""))
        self.targets.append(Target(what, f">= {target:g}{unit}", shown or f"{measured:.2f}{unit}",
                                   verdict))

    def met_exactly(self, what: str, target: float, measured: float, shown: str = "") -> None:
        verdict = "met" if round(measured, 2) == target else f"missed by {measured - target:+.2f}"
        self.targets.append(Target(what, f"= {target:.2f}", shown or f"{measured:.2f}", verdict))

    def met_at_most(self, what: str, target: float, measured: float, unit: str,
                    shown: str = "", why: str = "") -> None:
        """``why``: what the figure is spent on, shown when the target is missed."""
        verdict = "met" if measured <= target else f"missed by {measured - target:.3g}{unit}"
        if measured > target > 0:
            verdict += f" ({measured / target:.2f} times the goal)"
        if measured > target and why:
            verdict += f"; {why}"
        self.targets.append(Target(what, f"<= {target:g}{unit}", shown or f"{measured:.3g}{unit}",
                                   verdict))


def machine() -> list[str]:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    from importlib.metadata import version

    return [
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"{mem_kb / 1024 / 1024:.1f} GiB memory, {platform.platform()}",
        f"watcher {version('watcher')}, Python {sys.version.split()[0]}, "
        f"aiohttp {version('aiohttp')}, httpx {version('httpx')}, "
        f"SQLAlchemy {version('sqlalchemy')}",
        f"registry: {_first_line(['/usr/bin/docker-registry', '--version'])}; "
        f"peer: {_first_line(['skopeo', '--version'])}",
    ]


def _first_line(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10).stdout
    except OSError as exc:
        return f"unavailable ({exc})"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def markdown(results: Results) -> str:
    high = max((max(load) for _, load in results.load), default=0.0)
    cores = os.cpu_count() or 1
    out = ["# Benchmarks", "",
           "Written by `make bench` (`bench/harness.py`); a rerun replaces this page. "
           "Registry and client share the machine, on loopback.", ""]
    if high > 0.5 * cores:
        out += [f"**Noisy figures:** the load average reached {high:.2f} on {cores} cores during "
                "this run (other work was running on the machine); absolute times are slower "
                "than on an idle machine, the ratios measured side by side less so.", ""]
    out += [f"Run on {results.started:%Y-%m-%d %H:%M} UTC, {results.seconds:.0f} s in all.", ""]
    out += [f"- {line}" for line in machine()]
    out += ["- load average (1, 5, 15 min): " + "; ".join(
        f"{when} {a:.2f} {b:.2f} {c:.2f}" for when, (a, b, c) in results.load), ""]
    out += ["## Targets", "", "| target | goal | measured | verdict |", "|---|---|---|---|"]
    out += [f"| {t.what} | {t.target} | {t.measured} | {t.verdict} |" for t in results.targets]
    out += ["", "## Rounds of `watcher check`", "",
            "Each round is one `watcher check` process (interpreter start-up included) against "
            "the registry on loopback; requests are counted from the registry's access log. "
            "CPU is the child's user + system time (rusage), RSS its peak (maxrss). "
            "The ceiling is a bare aiohttp HEAD loop (same Accept header, same tags, same "
            "concurrency), measured before and after the rounds; the ratio uses their mean.", "",
            "| N | round | wall s | checks/s | ratio | CPU ms/check | HEAD/tag | GET/tag "
            "| tag lists/tag | other/tag | peak RSS MB | DB MB |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    out += [f"| {r.size:,} | {r.label} | {r.wall:.2f} | {r.checks_per_s:.0f} | {r.ratio:.2f} "
            f"| {r.cpu_ms:.2f} | {r.head:.2f} | {r.get:.2f} | {r.tags:.2f} | {r.other:.2f} "
            f"| {r.rss_mb:.0f} | {r.db_mb:.1f} |" for r in results.rounds]
    out += ["", "| N | ceiling before, HEAD/s | after | mean |", "|---:|---:|---:|---:|"]
    out += [f"| {n:,} | {b:.0f} | {a:.0f} | {(a + b) / 2:.0f} |" for n, b, a in results.ceilings]
    out += ["", "## Other figures", ""] + [f"- {line}" for line in results.lines]
    if results.notes:
        out += ["", "## Notes", ""] + [f"- {note}" for note in results.notes]
    return "\n".join(out) + "\n"
