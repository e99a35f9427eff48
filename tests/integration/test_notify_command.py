"""The command channel with real programs: the batch on standard input, the facts in the
environment, exit codes, a timeout that kills the program and its children."""

from __future__ import annotations

import asyncio
import contextlib
import json
import stat
import sys
from pathlib import Path

from tests.support import wait_until
from tests.support.receivers import NEW, OLD, notice, three
from watcher.notify import Batch, OutcomeKind
from watcher.notify.command import CommandChannel

RECORDER = """\
import json, os, sys
out = sys.argv[1]
document = json.load(sys.stdin)
env = {k: v for k, v in os.environ.items() if k.startswith("WATCHER_")}
with open(out, "w") as handle:
    json.dump({"stdin": document, "env": env}, handle)
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""


def _script(tmp_path: Path, text: str, name: str = "hook.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_batch_arrives_on_stdin_and_the_first_notices_facts_in_the_environment(
        tmp_path: Path) -> None:
    out = tmp_path / "seen.json"
    channel = CommandChannel([sys.executable, str(_script(tmp_path, RECORDER)), str(out)])
    batch = three()
    outcome = asyncio.run(channel.send(batch))
    assert outcome.kind is OutcomeKind.DELIVERED, outcome
    seen = json.loads(out.read_text())
    assert seen["stdin"] == json.loads(json.dumps(batch.to_json()))
    assert [e["image"] for e in seen["stdin"]["events"]] == [
        "python:3.12-slim", "node:20", "redis:7"]
    assert seen["env"] == {
        "WATCHER_BATCH_ID": batch.id,
        "WATCHER_COUNT": "3",
        "WATCHER_EVENT": "digest_changed",
        "WATCHER_EVENT_ID": "evt-python:3.12-slim-digest_changed",
        "WATCHER_IMAGE": "python:3.12-slim",
        "WATCHER_TAG": "3.12-slim",
        "WATCHER_OLD_DIGEST": OLD,
        "WATCHER_NEW_DIGEST": NEW,
        "WATCHER_TIME": "2026-12-02T14:00:05Z",
        "WATCHER_SUMMARY": "python:3.12-slim points to a new digest",
        "WATCHER_CLASSES": "",
        "WATCHER_EXPLANATION": "",
        "WATCHER_DEPENDENTS": "",
    }


def test_the_dependents_classes_and_explanation_are_in_the_environment(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from watcher.core.events import DigestChanged, Event
    from watcher.service.notices import notice_for
    from watcher.store import Dependent

    at = datetime(2026, 12, 2, 14, 0, 5, tzinfo=UTC)
    explanation = {"change": "minor", "classes": ["minor", "rebase"],
                   "versions": {"NODE_VERSION": ["20.18.0", "20.19.0"]}}
    moved = Event("e1", "docker.io/library/node:20", at,
                  DigestChanged(OLD, NEW, {"linux/amd64": "changed"}, explanation))
    users = [Dependent(moved.ref, "files", "shop", "app/Dockerfile", "app/Dockerfile:4 build",
                       {"path": "app/Dockerfile", "line": 4, "stage": "build"}, at, at),
             Dependent(moved.ref, "engine", "build-host", "c0ffee", "web", {}, at, at)]
    out = tmp_path / "seen.json"
    channel = CommandChannel([sys.executable, str(_script(tmp_path, RECORDER)), str(out)])
    outcome = asyncio.run(channel.send(Batch.of([notice_for(moved, None, users)])))
    assert outcome.kind is OutcomeKind.DELIVERED, outcome
    seen = json.loads(out.read_text())
    env = seen["env"]
    assert env["WATCHER_CLASSES"] == "minor,rebase"
    assert json.loads(env["WATCHER_EXPLANATION"]) == explanation
    assert env["WATCHER_DEPENDENTS"].splitlines() == ["shop/app/Dockerfile:4 build",
                                                      "build-host/web"]
    (event,) = seen["stdin"]["events"]
    assert [d["advice"] for d in event["data"]["dependents"]] == [
        "Rebuild `app/Dockerfile` (stage `build`): base `docker.io/library/node:20` moved; "
        "Node 20.18.0 -> 20.19.0; linux/amd64.",
        "Recreate container `build-host/web`: base `docker.io/library/node:20` moved; "
        "Node 20.18.0 -> 20.19.0; linux/amd64."]
    assert event["data"]["classes"] == ["minor", "rebase"]


def test_arguments_are_passed_as_given_never_through_a_shell(tmp_path: Path) -> None:
    out = tmp_path / "args.json"
    script = _script(tmp_path, "import json, sys\nsys.stdin.read()\n"
                     "json.dump(sys.argv[2:], open(sys.argv[1], 'w'))\n")
    argv = [sys.executable, str(script), str(out), "$HOME", "a b; rm -rf /", "*"]
    outcome = asyncio.run(CommandChannel(argv).send(Batch.single(notice())))
    assert outcome.kind is OutcomeKind.DELIVERED, outcome
    assert json.loads(out.read_text()) == ["$HOME", "a b; rm -rf /", "*"]


def test_a_nonzero_exit_is_retried_with_the_first_lines_of_stderr(tmp_path: Path) -> None:
    script = _script(tmp_path, "import sys\nsys.stdin.read()\n"
                     "sys.stderr.write('pipeline busy\\n\\x1b[31mred\\n' + 'more\\n' * 50)\n"
                     "sys.exit(3)\n")
    outcome = asyncio.run(CommandChannel([sys.executable, str(script)]).send(three()))
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.error is not None
    assert outcome.error.startswith(f"command {Path(sys.executable).name}: exited with 3: "
                                    "pipeline busy | \\x1b[31mred | more")
    assert outcome.error.count("more") == 3
    assert "\x1b" not in outcome.error


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            return stat_file.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_timeout_kills_the_command_and_every_child(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = tmp_path / "hang"
    script.write_text(f"#!/bin/sh\nsleep 300 &\necho $$ $! > {pids}.tmp\n"
                      f"mv {pids}.tmp {pids}\nsleep 300\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    outcome = asyncio.run(CommandChannel([str(script)], timeout=1.0).send(three()))
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.error is not None
    assert "still running after 1s" in outcome.error
    started = [int(pid) for pid in pids.read_text().split()]
    assert len(started) == 2
    wait_until(lambda: not any(_running(pid) for pid in started), timeout=5,
               what="the command and its child to be gone")


def test_a_missing_or_unrunnable_program_fails_for_good(tmp_path: Path) -> None:
    missing = asyncio.run(CommandChannel([str(tmp_path / "nope")]).send(three()))
    assert missing.kind is OutcomeKind.FAILED
    assert missing.error is not None
    assert "not found" in missing.error
    plain = tmp_path / "not-executable"
    plain.write_text("#!/bin/sh\nexit 0\n")
    refused = asyncio.run(CommandChannel([str(plain)]).send(three()))
    assert refused.kind is OutcomeKind.FAILED
    assert refused.error is not None
    assert "not executable" in refused.error


def test_a_command_that_ignores_stdin_is_still_delivered(tmp_path: Path) -> None:
    script = _script(tmp_path, "import sys\nsys.exit(0)\n")
    outcome = asyncio.run(CommandChannel([sys.executable, str(script)]).send(three()))
    assert outcome.kind is OutcomeKind.DELIVERED, outcome


def test_extra_environment_values_never_reach_the_error_text(tmp_path: Path) -> None:
    script = _script(tmp_path, "import os, sys\nsys.stderr.write('token is ' + "
                     "os.environ['CI_TOKEN'])\nsys.exit(1)\n")
    channel = CommandChannel([sys.executable, str(script)], env={"CI_TOKEN": "ci-tok-31337"})
    outcome = asyncio.run(channel.send(three()))
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.error is not None
    assert "ci-tok-31337" not in outcome.error
    assert "token is ***" in outcome.error


def test_a_cancelled_send_kills_the_command_and_every_child(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = tmp_path / "hang"
    script.write_text(f"#!/bin/sh\nsleep 300 &\necho $$ $! > {pids}.tmp\n"
                      f"mv {pids}.tmp {pids}\nsleep 300\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)

    async def start_then_stop() -> None:
        task = asyncio.create_task(CommandChannel([str(script)], timeout=60).send(three()))
        deadline = asyncio.get_running_loop().time() + 10
        while not pids.exists():  # poll for the program to have started its child
            assert asyncio.get_running_loop().time() < deadline, "the command never started"
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(start_then_stop())
    started = [int(pid) for pid in pids.read_text().split()]
    wait_until(lambda: not any(_running(pid) for pid in started), timeout=5,
               what="the command and its child to be gone")
