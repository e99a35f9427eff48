"""The service package: callers import from ``watcher.service`` as before, and importing it
(or the CLI) does not bring in what only other commands need."""

from __future__ import annotations

import subprocess
import sys

import pytest

import watcher.service as service
from watcher.service import registries, report, round, storage


def test_the_package_re_exports_what_callers_import() -> None:
    assert service.CheckRound is round.CheckRound
    assert service.ImageCheck is report.ImageCheck
    assert service.RoundReport is report.RoundReport
    assert service.check_images is round.check_images
    assert service.images_to_check is round.images_to_check
    assert service.registry_settings is registries.registry_settings
    assert service.open_store is storage.open_store
    assert set(service.__all__) == {
        "CheckRound", "ImageCheck", "RoundReport", "check_images", "images_to_check",
        "open_store", "registry_settings",
    }


def _imported_after(module: str, candidates: tuple[str, ...]) -> list[str]:
    code = (
        f"import sys, {module}; "
        f"print(' '.join(m for m in {candidates!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.split()


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        # Only `watcher run` needs the scheduler; only check and tags the HTTP stack.
        ("watcher.cli", ("apscheduler", "httpx", "aiohttp", "watcher.service")),
        ("watcher.service", ("apscheduler", "watcher.service.runtime")),
    ],
)
def test_importing_does_not_load_what_only_other_commands_need(
    module: str, absent: tuple[str, ...]
) -> None:
    assert _imported_after(module, absent) == []
    # The check itself sees a module once it is loaded.
    assert absent[-1] in _imported_after(f"{module}, {absent[-1]}", absent)
