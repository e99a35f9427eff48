"""Shared replicas as `watcher status` shows them: who is alive, the leases each holds, its
pace and last round, and the image set version each follows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from watcher.store import ReplicaStatus
from watcher.views.words import age, iso


def fleet_document(replicas: Sequence[ReplicaStatus], version: int | None) -> dict[str, Any]:
    return {
        "image_set_version": version,
        "alive": sum(1 for r in replicas if r.alive),
        "replicas": [
            {
                "name": r.name,
                "alive": r.alive,
                "started_at": iso(r.started_at),
                "heartbeat_at": iso(r.heartbeat_at),
                "leases": r.leases,
                "checks": r.checks,
                "checks_per_minute": round(r.checks_per_minute, 1),
                "last_round_at": iso(r.last_round_at),
                "last_round_checks": r.last_round_checks,
                "image_set_version": r.config_version,
            }
            for r in replicas
        ],
    }


def fleet_lines(replicas: Sequence[ReplicaStatus], version: int | None,
                now: datetime) -> list[str]:
    """A heading, then one line per replica, such as ``watcher-0  alive  12 leases
    840 checks/min  last round 3s ago (50 checks)  image set v4``."""
    alive = sum(1 for r in replicas if r.alive)
    shown = f", image set v{version}" if version is not None else ""
    lines = [f"Replicas: {alive} alive of {len(replicas)}{shown}"]
    width = max((len(r.name) for r in replicas), default=0)
    for r in replicas:
        state = "alive" if r.alive else f"gone (last heartbeat {age(r.heartbeat_at, now)})"
        last = ("no round yet" if r.last_round_at is None else
                f"last round {age(r.last_round_at, now)} ({r.last_round_checks} checks)")
        behind = ("" if r.config_version is None or version is None
                  or r.config_version == version else
                  f"  image set v{r.config_version} (behind)")
        lines.append(f"  {r.name:<{width}}  {state}  {r.leases} leases  "
                     f"{r.checks_per_minute:.0f} checks/min  {last}{behind}")
    return lines
