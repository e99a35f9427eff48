"""Helpers the tests share: real servers started on loopback, and how to treat a missing one."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing_component(message: str) -> None:
    """Skip on a developer machine; fail under CI=true, where every component must be present."""
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing component is a failure)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout: float = 10.0,
    what: str = "condition",
    max_interval: float = 0.1,
) -> None:
    """Poll ``predicate`` until it is true; fail with ``what`` when ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    delay = min(0.005, max_interval)
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, max_interval)
