"""Time rank_tags on 5,000 tags: real official-images tags, a synthesized python-like list and a
synthesized list in the big publishers' styles (linuxserver, Bitnami, Plex, MinIO).

    python bench/tags_rank.py [--rounds N]

"Cold" clears the parse caches before each round (every tag parsed afresh, as on the first check
of a repository); "warm" reuses it (later checks of the same repository). Target: well under
50 ms per ranking.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from watcher.core.tags import parse as tag_module
from watcher.core.tags import rank_tags
from watcher.core.tags import tail as tail_module

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "corpus"
SIZE = 5000


def corpus_tags() -> list[str]:
    """Every distinct tag of the 30 images over the four snapshots, newest first; 5,000 of them."""
    seen: dict[str, None] = {}
    for path in sorted(CORPUS.glob("*/*.txt"), key=lambda p: (p.parent.name, p.name), reverse=True):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line:
                seen[line] = None
    return list(seen)[:SIZE]


def synthesized_tags() -> list[str]:
    """A large python-like repository: versions x pre-releases x variants, plus aliases."""
    variants = ["", "-slim", "-slim-bookworm", "-alpine", "-alpine3.20", "-windowsservercore"]
    out: list[str] = []
    minor = 0
    while len(out) < SIZE:
        for patch in range(25):
            for variant in variants:
                out.append(f"3.{minor}.{patch}{variant}")
                if patch == 0:
                    out.append(f"3.{minor}.0rc1{variant}")
                    out.append(f"3.{minor}-rc{variant}")
            out.append(f"3.{minor}")
        out += ["latest", "bookworm", f"sha-{minor:07x}a"]
        minor += 1
    return out[:SIZE]


def publisher_tags() -> list[str]:
    """linuxserver builds, Bitnami revisions, Plex commit ids and MinIO stamps, plus aliases."""
    out: list[str] = []
    build = 0
    while len(out) < SIZE:
        for patch in range(20):
            build += 1
            version = f"4.{build // 200}.{patch}.{2900 + build}"
            out += [f"{version}-ls{build}", f"amd64-{version}-ls{build}", f"version-{version}"]
            out += [f"8.{build // 100}.{patch}-debian-12-r{r}" for r in range(3)]
            out.append(f"1.41.{patch}.{9000 + build}-{build * 7919 % 16**9:09x}")
            out.append(f"RELEASE.20{20 + build // 400}-0{1 + patch % 9}-1{patch % 10}"
                       f"T1{patch % 10}-2{build % 10}-3{build % 10}Z")
        out += ["latest", "develop", "amd64-latest"]
    return out[:SIZE]


def measure(label: str, run: Callable[[], object], rounds: int, cold: bool) -> None:
    """Wall-clock and CPU time per round (CPU time is the figure on a loaded machine)."""
    times, cpu = [], []
    for _ in range(rounds):
        if cold:
            tag_module._parse.cache_clear()
            tail_module._read_tail.cache_clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        cpu.append((time.process_time() - start_cpu) * 1000)
        times.append((time.perf_counter() - start) * 1000)
    print(
        f"{label:<34} median {statistics.median(times):6.2f} ms   "
        f"min {min(times):6.2f} ms   max {max(times):6.2f} ms   "
        f"cpu median {statistics.median(cpu):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    for name, current, offered in (
        ("corpus (30 images in one list)", "3.12.7-slim-bookworm", corpus_tags()),
        ("synthesized", "3.12.7-slim-bookworm", synthesized_tags()),
        ("publishers", "4.0.3.2903-ls3", publisher_tags()),
    ):
        assert len(offered) == SIZE, len(offered)
        answer = rank_tags(current, offered)
        print(f"{name}: {len(offered)} tags; same line {answer.same_line}, newest {answer.newest}")
        for cold in (True, False):
            label = f"  rank_tags ({'cold' if cold else 'warm'} parse cache)"
            measure(label, functools.partial(rank_tags, current, offered), rounds, cold)


if __name__ == "__main__":
    main()
