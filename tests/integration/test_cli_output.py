"""What ``status`` and ``history`` print, on a real SQLite file: reasons per image, lines that
fit the terminal, registry-supplied text escaped (JSON exact), ``NO_COLOR``, read-only files."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.terminal import run_on_a_terminal
from watcher.cli import main
from watcher.core.changes import ImageState, NewerVersions, Observation, WatchPolicy, decide
from watcher.core.observation import OCI_INDEX, ManifestObservation
from watcher.store import Store

HOSTILE = "\x1b[2J\x1b]0;owned\x07"  # clear the screen, retitle the terminal
LONG = "registry.example.com:5000/" + "a-very-long-group-name/" * 3 + "base"
MOVING = f"{LONG}:3.12-slim"
STEADY = "docker.io/library/python:3.12-slim"
NEWER = "ghcr.io/acme/tool:1.2.3"
BROKEN = "ghcr.io/acme/gone:1"


def digest(char: str) -> str:
    return "sha256:" + char * 64


def apply(store: Store, ref: str, observation: Observation) -> None:
    previous = store.load_state(ref) or ImageState(ref=ref)
    store.apply(decide(previous, observation, WatchPolicy()))


def seen(char: str, platforms: dict[str, str]) -> ManifestObservation:
    return ManifestObservation(digest(char), OCI_INDEX, platforms)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """Four images: one moved on two platforms (one name hostile), one steady, one with newer
    tags (hostile), one failing with a hostile error."""
    path = tmp_path / "watcher.db"
    now = datetime.now(UTC)  # "30m ago" is measured from here, when the test runs
    with Store.open(f"sqlite:///{path}") as store:
        store.sync_images([MOVING, STEADY, NEWER, BROKEN])
        before = {"linux/amd64": digest("1"), f"linux/arm{HOSTILE}": digest("2")}
        after = {"linux/amd64": digest("3"), f"linux/arm{HOSTILE}": digest("4")}
        apply(store, MOVING, Observation(now - timedelta(hours=3), manifest=seen("a", before)))
        apply(store, MOVING, Observation(now - timedelta(hours=2), manifest=seen("b", after)))
        apply(store, STEADY, Observation(now - timedelta(hours=1), manifest=seen("c", {})))
        apply(store, NEWER, Observation(now - timedelta(days=1), manifest=seen("d", {})))
        apply(
            store,
            NEWER,
            Observation(
                now - timedelta(minutes=5),
                manifest=seen("d", {}),
                newer=NewerVersions(same_line=f"1.2.4{HOSTILE}", newest="2.0.0"),
            ),
        )
        apply(store, BROKEN, Observation(now - timedelta(days=2), manifest=seen("e", {})))
        apply(
            store,
            BROKEN,
            Observation(
                now - timedelta(minutes=30),
                error=f"{BROKEN} on ghcr.io: server error (500): {HOSTILE}",
                error_status=500,
            ),
        )
    return path


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    # Not on a terminal: no width unless the test gives one ($COLUMNS of the caller unset).
    environment: dict[str, str | None] = {"COLUMNS": None, **(env or {})}
    result = CliRunner().invoke(main, list(args), env=environment, catch_exceptions=False)
    return result.exit_code, result.stdout


def test_status_says_why_for_each_image(database: Path) -> None:
    code, text = cli("status", "--database", f"sqlite:///{database}")
    assert code == 0
    lines = text.splitlines()
    assert lines[0].split() == ["IMAGE", "TAG", "DIGEST", "CHECKED", "STATE"]
    assert lines[1].startswith(LONG)
    assert lines[1].endswith("rebuild needed")
    assert lines[2] == (
        f"    moved 2h ago: {digest('a')[:19]} -> {digest('b')[:19]} "
        "(linux/amd64 changed, linux/arm\\x1b[2J\\x1b]0;owned\\x07 changed)"
    )
    failing = lines.index(next(line for line in lines if line.startswith("ghcr.io/acme/gone")))
    assert lines[failing].endswith("failing")
    assert lines[failing + 1] == (
        "    failing: 1 check since 30m ago, HTTP 500: "
        "server error (500): \\x1b[2J\\x1b]0;owned\\x07"
    )
    newer = lines.index(next(line for line in lines if line.startswith("ghcr.io/acme/tool")))
    assert lines[newer].endswith("newer version")
    assert lines[newer + 1] == (
        "    newer: 1.2.4\\x1b[2J\\x1b]0;owned\\x07 on the same line; 2.0.0 newest"
    )
    assert lines[-1].startswith("docker.io/library/python")
    assert lines[-1].endswith("up to date")
    assert "\x1b" not in text
    assert "\x07" not in text


def test_status_json_keeps_the_registry_text_exact(database: Path) -> None:
    import json

    code, text = cli("status", "--database", f"sqlite:///{database}", "--json")
    assert code == 0
    images = {image["ref"]: image for image in json.loads(text)["images"]}
    assert f"linux/arm{HOSTILE}" in images[MOVING]["platforms"]
    assert images[NEWER]["newer"]["same_line"] == f"1.2.4{HOSTILE}"
    assert images[BROKEN]["failing"]["last_error"].endswith(HOSTILE)


def test_history_escapes_registry_text(database: Path) -> None:
    url = f"sqlite:///{database}"
    code, text = cli("history", "--database", url, MOVING)
    assert code == 0
    assert "\x1b" not in text
    assert "linux/arm\\x1b[2J\\x1b]0;owned\\x07" in text
    code, text = cli("history", "--database", url, BROKEN)
    assert code == 0
    assert "\x1b" not in text
    assert text.rstrip().endswith("server error (500): \\x1b[2J\\x1b]0;owned\\x07")


@pytest.mark.parametrize("columns", [80, 60])
def test_status_and_history_fit_the_terminal_width(database: Path, columns: int) -> None:
    env = {"COLUMNS": str(columns)}
    url = f"sqlite:///{database}"
    for command in (("status",), ("status", "--all"), ("history", MOVING), ("history", BROKEN)):
        code, text = cli(*command, "--database", url, env=env)
        assert code == 0
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= columns, text
    code, text = cli("status", "--database", url, env=env)
    image = text.splitlines()[1]
    assert "…" in image  # the long name is elided in the middle, its ends kept
    assert image.startswith("reg")
    assert image.endswith("rebuild needed")  # the state is never cut


def test_history_limit_out_of_range_is_a_usage_error(database: Path) -> None:
    result = CliRunner().invoke(
        main, ["history", "--database", f"sqlite:///{database}", "--limit", "9" * 20, MOVING]
    )
    assert result.exit_code == 2
    assert "--limit" in result.output
    assert "1<=x<=1000000" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_colour_only_on_a_terminal_and_never_with_no_color(database: Path) -> None:
    command = [sys.executable, "-m", "watcher", "status", "--database", f"sqlite:///{database}"]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["COLUMNS"] = "100"
    coloured = run_on_a_terminal(command, env)
    assert "\x1b[33m" in coloured  # rebuild needed, in yellow
    plain = run_on_a_terminal(command, {**env, "NO_COLOR": "1"})
    assert "rebuild needed" in plain
    assert "\x1b[" not in plain
    piped = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert "rebuild needed" in piped.stdout
    assert "\x1b[" not in piped.stdout


# --- read-only databases -----------------------------------------------------------------------


@pytest.fixture
def readable_dir() -> Iterator[Path]:
    """A directory outside pytest's (root-only) temporary tree, so another user can reach it."""
    path = Path(tempfile.mkdtemp(prefix="watcher-ro-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for child in [path, *path.rglob("*")]:
            child.chmod(0o755 if child.is_dir() else 0o644)
        shutil.rmtree(path)


def _as_another_user(command: list[str]) -> list[str]:
    """Run as nobody when we are root (root ignores file modes); else as ourselves."""
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("setpriv (util-linux) is needed to run a command as another user")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]


@pytest.mark.parametrize("directory_writable", [False, True], ids=["ro-dir", "ro-file"])
def test_status_and_history_work_on_a_read_only_database(
    database: Path, readable_dir: Path, directory_writable: bool
) -> None:
    state = readable_dir / "state"
    state.mkdir()
    copy = state / "watcher.db"
    shutil.copyfile(database, copy)
    copy.chmod(0o444)
    state.chmod(0o777 if directory_writable else 0o555)
    before = copy.read_bytes()
    url = f"sqlite:///{copy}"
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env["HOME"] = str(readable_dir)
    expected = {"status": "rebuild needed", "history": "digest_changed", "--json": MOVING}
    for args in (["status"], ["history", MOVING], ["status", "--json"]):
        command = _as_another_user([sys.executable, "-m", "watcher", *args, "--database", url])
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert expected[args[-1] if args[-1] == "--json" else args[0]] in result.stdout
    assert copy.read_bytes() == before
    mode = stat.S_IMODE(copy.stat().st_mode)
    assert mode == 0o444
