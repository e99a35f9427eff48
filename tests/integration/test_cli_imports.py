"""Each command imports only what it needs: ``watcher --version`` no library beyond click,
``watcher status`` no migration, HTTP, scheduling or logging library. A correctness test of
the lazy imports (which modules end up loaded), not a timing test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from watcher.store import Store

HEAVY = (
    "alembic", "mako", "sqlalchemy", "httpx", "httpx_aiohttp", "aiohttp", "apscheduler",
    "structlog", "watcher.registry.client", "watcher.registry.transport", "watcher.service",
    "watcher.store", "watcher.daemon", "watcher.web",
)

# Runs the command line in a fresh interpreter, then lists which of HEAVY got imported.
RUNNER = """
import json, sys
from watcher.cli import main
heavy, out, args = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3:]
try:
    main(args)
except SystemExit as exc:
    code = exc.code
loaded = [m for m in heavy if m in sys.modules]
with open(out, "w") as f:
    json.dump({"code": code, "loaded": loaded}, f)
"""


def _loaded_by(tmp_path: Path, *args: str) -> tuple[int, list[str]]:
    out = tmp_path / "loaded.json"
    subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(HEAVY), str(out), *args],
        capture_output=True, check=True, timeout=120,
    )
    result = json.loads(out.read_text())
    return result["code"], result["loaded"]


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with Store.open(url) as store:
        store.sync_images(["registry.example/team/app:1.2"])
    return url


def test_version_imports_no_library_of_any_command(tmp_path: Path) -> None:
    code, loaded = _loaded_by(tmp_path, "--version")
    assert code == 0
    assert loaded == []


@pytest.mark.parametrize("extra", [(), ("--json",)])
def test_status_imports_the_store_only(
    tmp_path: Path, database: str, extra: tuple[str, ...]
) -> None:
    code, loaded = _loaded_by(tmp_path, "status", "--database", database, *extra)
    assert code == 0
    assert set(loaded) == {"sqlalchemy", "watcher.store"}


def test_the_check_does_see_a_module_once_it_is_loaded(tmp_path: Path, database: str) -> None:
    # `db upgrade` migrates, so Alembic is loaded: the runner would notice a lazy import gone.
    code, loaded = _loaded_by(tmp_path, "db", "upgrade", "--database", database)
    assert code == 0
    assert "alembic" in loaded
