"""What the benchmark measures: the registry's ceiling, and the real ``watcher`` commands as
child processes (wall time with start-up, CPU and peak RSS from the child's rusage)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from watcher.registry.client import ACCEPT_MANIFESTS

WATCHER = str(Path(sys.executable).with_name("watcher"))
# watcher as installed runs from bytecode (pip compiles it; an editable install writes
# __pycache__ on first use): a PYTHONDONTWRITEBYTECODE in the caller's environment would
# recompile every module of every child instead. ``compile_watcher`` writes it up front.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_watcher() -> None:
    """Byte-compile the watcher package, as installing it does."""
    import compileall

    import watcher

    compileall.compile_dir(str(Path(watcher.__file__).parent), quiet=1)


# -- the ceiling: a bare aiohttp HEAD loop -------------------------------------------------------

def ceiling(refs: Sequence[str], concurrency: int) -> float:
    """Manifest HEADs per second for every ref once, with watcher's Accept header."""
    return asyncio.run(_ceiling(refs, concurrency))


async def _ceiling(refs: Sequence[str], concurrency: int) -> float:
    host = refs[0].split("/", 1)[0]
    paths = []
    for ref in refs:
        name, tag = ref.split("/", 1)[1].rsplit(":", 1)
        paths.append(f"/v2/{name}/manifests/{tag}")
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(f"http://{host}", connector=connector) as http:
        queue = list(reversed(paths))
        headers = {"Accept": ACCEPT_MANIFESTS}

        async def worker() -> None:
            while queue:
                async with http.head(queue.pop(), headers=headers) as reply:
                    assert reply.status == 200, reply.status

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(paths) / (time.perf_counter() - started)


# -- watcher as a child process ----------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    wall: float  # seconds, interpreter start-up included
    cpu: float  # user + system seconds of the child
    max_rss_kb: int
    returncode: int


def run_watcher(args: Sequence[str], *, stdout: int | None = subprocess.DEVNULL) -> Run:
    """Run ``watcher ARGS`` to the end; its wall time and its own rusage."""
    started = time.perf_counter()
    process = subprocess.Popen([WATCHER, *args], stdout=stdout, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, env=CHILD_ENV)
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    if process.returncode not in (0, 1):
        raise RuntimeError(f"watcher {' '.join(args)} exited {process.returncode}: "
                           f"{errors.decode(errors='replace')[-2000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, process.returncode)


def median_wall(args: Sequence[str], runs: int) -> tuple[float, float, float]:
    """(median, best, worst) wall seconds of ``runs`` runs."""
    walls = [run_watcher(args).wall for _ in range(runs)]
    return statistics.median(walls), min(walls), max(walls)


def write_config(path: Path, database: Path, host: str, refs: Sequence[str],
                 concurrency: int, interval: str = "1h") -> Path:
    lines = ["[watcher]", f'database = "sqlite:///{database}"', f'interval = "{interval}"',
             "[[registries]]", f'host = "{host}"', "insecure = true",
             f"max_concurrency = {concurrency}", "timeout = \"60s\""]
    for ref in refs:
        lines += ["[[images]]", f'ref = "{ref}"']
    path.write_text("\n".join(lines) + "\n")
    return path


def database_size(database: Path) -> int:
    """Bytes of the SQLite file and its WAL and shared-memory files, if any."""
    return sum(p.stat().st_size for p in (database, Path(f"{database}-wal"))
               if p.exists())


# -- the daemon -------------------------------------------------------------------------------

@dataclass(frozen=True)
class DaemonRun:
    rounds: int
    rss_kb: list[int]  # VmRSS after each round
    peak_kb: int  # VmHWM at the end
    wall: float


def run_daemon(config: Path, rounds: int, budget: float) -> DaemonRun:
    """``watcher run`` until it finished ``rounds`` rounds or ``budget`` seconds passed."""
    started = time.perf_counter()
    process = subprocess.Popen([WATCHER, "--log-json", "--log-level", "info", "run",
                                "--config", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=CHILD_ENV)
    assert process.stderr is not None
    rss: list[int] = []
    peak = 0
    try:
        for line in process.stderr:
            if b"round finished" not in line:
                continue
            rss.append(_proc_status(process.pid, "VmRSS"))
            peak = _proc_status(process.pid, "VmHWM")
            elapsed = time.perf_counter() - started
            # stop when another round of the same length would end past the budget
            if len(rss) >= rounds or elapsed * (len(rss) + 1) / len(rss) > budget:
                break
        if process.poll() is not None:
            raise RuntimeError(f"watcher run exited {process.returncode}")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.stderr.read()  # drained until it exits, so it never blocks on a full pipe
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stderr.close()
    return DaemonRun(len(rss), rss, peak, time.perf_counter() - started)


def _proc_status(pid: int, key: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0
