"""Running the real ``watcher run`` as a subprocess, and stopping it as an operator would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

DAEMON = [sys.executable, "-m", "watcher", "--log-json", "run"]


def start_daemon(config: Path, log: Path, *, env: dict[str, str] | None = None
                 ) -> subprocess.Popen[bytes]:
    """``watcher run --config CONFIG``, its standard error (JSON lines) to ``log``."""
    with log.open("wb") as stderr:
        return subprocess.Popen([*DAEMON, "--config", str(config)], stdout=subprocess.DEVNULL,
                                stderr=stderr, cwd=config.parent, env=env)


def stop_daemon(process: subprocess.Popen[bytes], *, timeout: float = 30) -> int | None:
    """SIGTERM, as systemd or Docker stop it; killed when it has not exited in ``timeout``
    (the return code is then None, which a test's assertion reports)."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None
    return process.returncode
