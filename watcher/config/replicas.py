"""``[watcher] replicas``: one process alone ("single", the default), or several replicas
sharing the work through PostgreSQL ("shared"), with the lease settings of that mode."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from watcher.config.http import INSTANCE_ENV
from watcher.config.reader import Reader

MODES = ("single", "shared")
REPLICA_KEYS = ("replicas", "lease", "claim_batch")
DEFAULT_LEASE = 120.0
MIN_LEASE = 1.0
MAX_LEASE = 3600.0
DEFAULT_CLAIM_BATCH = 50
MAX_CLAIM_BATCH = 1000


@dataclass(frozen=True)
class Replicas:
    """How this process shares the work. ``name`` is the replica's name in the database: the
    ``instance`` when one is set, else host name and process id (two replicas on one host
    must not share a name, or they would renew each other's leases)."""

    mode: str = "single"
    lease: float = DEFAULT_LEASE  # seconds a claim holds an image or a delivery
    claim_batch: int = DEFAULT_CLAIM_BATCH  # images claimed per transaction
    name: str = "watcher"

    @property
    def shared(self) -> bool:
        return self.mode == "shared"


def parse_replicas(reader: Reader, section: Mapping[str, Any], database: str,
                   instance: str) -> Replicas:
    """The ``replicas``, ``lease`` and ``claim_batch`` keys of ``[watcher]``; "shared"
    needs a PostgreSQL ``database`` (SQLite has no row locks to share work with)."""
    mode = reader.string(section, "watcher.replicas") or "single"
    if mode not in MODES:
        raise reader.error("watcher.replicas", f"{mode!r}: use \"single\" (the default) or "
                                               "\"shared\" (several replicas on PostgreSQL)")
    lease = reader.duration(section, "watcher.lease", DEFAULT_LEASE, MAX_LEASE)
    if lease < MIN_LEASE:
        raise reader.error("watcher.lease", f"must be at least {MIN_LEASE:g}s, not {lease:g}s")
    batch = reader.positive_int(section, "watcher.claim_batch", DEFAULT_CLAIM_BATCH,
                                MAX_CLAIM_BATCH)
    if mode == "shared" and not database.startswith("postgresql"):
        raise reader.error(
            "watcher.replicas",
            "\"shared\" needs a PostgreSQL database (watcher.database = "
            "\"postgresql+psycopg://user:password@host/dbname\"); SQLite serves one process: "
            "remove replicas or set it to \"single\"")
    explicit = os.environ.get(INSTANCE_ENV) or section.get("instance")
    name = instance if explicit else f"{socket.gethostname() or 'watcher'}-{os.getpid()}"
    return Replicas(mode=mode, lease=lease, claim_batch=batch, name=name)
