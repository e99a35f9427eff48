"""Shared replicas as `watcher status`, ``/api/status`` and the status page show them: who is
alive, the leases each holds, its pace and last round, and the image set version each
follows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FleetRow:
    """One replica as the page shows it, in words."""

    name: str
    alive: bool
    state: str
    leases: int
    checks_per_minute: str
    last_round: str
    image_set: str


@dataclass(frozen=True)
class FleetPage:
    """The page's fleet section: a summary line and one row per replica."""

    summary: str
    rows: tuple[FleetRow, ...]


def fleet_page(replicas: Sequence[ReplicaStatus], version: int | None,
               now: datetime) -> FleetPage:
    alive = [r for r in replicas if r.alive]
    pace = sum(r.checks_per_minute for r in alive)
    shown = f", image set v{version}" if version is not None else ""
    summary = (f"{len(alive)} alive, {len(replicas) - len(alive)} gone; "
               f"{sum(r.leases for r in alive)} leases held, {pace:.0f} checks/min{shown}")
    rows = tuple(
        FleetRow(
            name=r.name, alive=r.alive,
            state="alive" if r.alive else f"gone (last heartbeat {age(r.heartbeat_at, now)})",
            leases=r.leases, checks_per_minute=f"{r.checks_per_minute:.0f}",
            last_round=("no round yet" if r.last_round_at is None else
                        f"{age(r.last_round_at, now)} ({r.last_round_checks} checks)"),
            image_set=("-" if r.config_version is None else f"v{r.config_version}"
                       + (" (behind)" if version is not None and r.config_version != version
                          else "")),
        )
        for r in replicas)
    return FleetPage(summary, rows)
