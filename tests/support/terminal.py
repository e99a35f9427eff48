"""Running a command on a real terminal (a pty), as a person would see its output."""

from __future__ import annotations

import os
import pty
import select
import subprocess


def run_on_a_terminal(command: list[str], env: dict[str, str]) -> str:
    """Everything ``command`` wrote to its terminal; it must exit 0."""
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        command, stdin=secondary, stdout=secondary, stderr=secondary, env=env, close_fds=True
    )
    os.close(secondary)
    output = b""
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(main)
        assert process.wait(timeout=30) == 0
    return output.decode()
