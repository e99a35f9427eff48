"""How many unchanged-tag checks per second the registry client sustains, per transport.

Starts its own registry on loopback (tmpfs storage, GOGC=400, no auth), pushes N tags, then
resolves every tag with ``known`` set (one HEAD each) through the same RegistryClient API over:

- httpx's default transport (httpcore), and
- the ``httpx_aiohttp`` transport (aiohttp underneath, httpx API on top).

    .venv/bin/python bench/registry_throughput.py [--tags 200] [--checks 4000] [--concurrency 32]

Reports checks/s and client CPU per request (process CPU time / requests; the registry runs in
its own process and is not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.registry import start_registry
from watcher.core.observation import ManifestObservation
from watcher.core.reference import ImageReference
from watcher.registry import RegistryClient
from watcher.registry.transport import default_transport

TRANSPORTS: dict[str, Callable[[int], httpx.AsyncBaseTransport]] = {
    "httpx-default": lambda n: httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=n, max_keepalive_connections=n)
    ),
    "httpx-aiohttp": lambda n: default_transport(),
}


async def measure(
    transport: httpx.AsyncBaseTransport, settings: object, refs: list[ImageReference],
    checks: int, concurrency: int,
) -> tuple[float, float]:
    async with RegistryClient({refs[0].registry: settings},  # type: ignore[dict-item]
                              transport=transport) as client:
        known: dict[ImageReference, ManifestObservation] = {}
        for ref in refs:  # warm up: connections open, known digests recorded
            known[ref] = await client.resolve(ref)
        queue = [refs[i % len(refs)] for i in range(checks)]

        async def worker() -> None:
            while queue:
                ref = queue.pop()
                assert await client.resolve(ref, known=known[ref]) is known[ref]

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return checks / wall, cpu / checks * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tags", type=int, default=200)
    parser.add_argument("--checks", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    registry = start_registry("open")
    try:
        pusher = registry.push
        body, media_type = pusher.image_manifest("bench/app")
        for i in range(args.tags):
            pusher.put_manifest("bench/app", f"t{i}", body, media_type)
        refs = [registry.ref("bench/app", f"t{i}") for i in range(args.tags)]
        settings = registry.settings(max_concurrency=args.concurrency)
        print(f"{args.tags} tags, {args.checks} checks per round, concurrency {args.concurrency}")
        for name, make in TRANSPORTS.items():
            results = [
                asyncio.run(measure(make(args.concurrency), settings, refs, args.checks,
                                    args.concurrency))
                for _ in range(args.rounds)
            ]
            rates = [r for r, _ in results]
            cpus = [c for _, c in results]
            print(f"{name:14} {statistics.median(rates):7.0f} checks/s "
                  f"(min {min(rates):.0f}, max {max(rates):.0f}); "
                  f"{statistics.median(cpus):.2f} ms CPU/request")
    finally:
        registry.close()


if __name__ == "__main__":
    main()
