"""How long a whole ``watcher check`` round takes: registry I/O, tag ranking and the one
database writer together.

Starts its own registry on loopback, pushes ``--images`` tags of one repository (plus a
few newer ones), writes a config tracking all of them, and times through the service:

- the baseline round (every digest is new: HEAD + GET each, one history row each),
- an unchanged round (one HEAD per image, no rows written but a timestamp),
- a round after every tag moved (HEAD + GET and one event per image).

    .venv/bin/python bench/check_round.py [--images 1000] [--concurrency 16]

Target: an unchanged round of 1,000 images in a few seconds on 2 cores, registry included.
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.registry import start_registry
from watcher.config import load_config
from watcher.logs import configure_logging
from watcher.service import check_images, open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    configure_logging("warning")

    registry = start_registry("open")
    scratch = Path(tempfile.mkdtemp(prefix="watcher-bench-"))
    try:
        push = registry.push
        tags = [f"1.{i}.0" for i in range(args.images)]
        started = time.perf_counter()
        for tag in tags:
            push.push_image("bench/app", tag)
        print(f"pushed {len(tags)} tags in {time.perf_counter() - started:.1f} s")

        config_path = scratch / "watcher.toml"
        lines = [
            "[watcher]",
            f'database = "sqlite:///{scratch / "watcher.db"}"',
            "[[registries]]",
            f'host = "{registry.host}"',
            "insecure = true",
            f"max_concurrency = {args.concurrency}",
        ]
        for tag in tags:
            lines += ["[[images]]", f'ref = "{registry.host}/bench/app:{tag}"']
        config_path.write_text("\n".join(lines) + "\n")
        config = load_config(config_path)
        store = open_store(config)
        store.sync_images(str(image.ref) for image in config.images)

        def round_(label: str) -> None:
            started = time.perf_counter()
            cpu = time.process_time()
            report = asyncio.run(check_images(config, store, list(config.images)))
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu
            events = sum(len(c.decision.events) for c in report.checks)
            print(
                f"{label}: {len(report.checks)} images in {wall:.2f} s "
                f"({len(report.checks) / wall:.0f} images/s, {cpu / len(report.checks) * 1e3:.2f}"
                f" ms CPU each), {report.failed} failed, {events} events"
            )

        round_("baseline round")
        round_("unchanged round")
        for tag in tags:
            push.move_tag("bench/app", tag)
        round_("every tag moved")
        store.close()
    finally:
        registry.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
