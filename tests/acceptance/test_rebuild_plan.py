"""The rebuild plan end to end with the real registry: a multi-stage Dockerfile whose builder
and runtime bases both move in one round gets one entry naming both, in the webhook batch and
on the command's standard input, while each event keeps its own CloudEvent; a newer tag's
notice names the move, as ``watcher advise`` would write it; ``watcher status`` says why."""

from __future__ import annotations

import json
import sys
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli import run
from tests.support.receivers import HookReceiver
from tests.support.registry import RunningRegistry
from tests.support.smtp import smtp_server


def _config(path: Path, registry: RunningRegistry, hook: str, stdin_copy: Path,
            smtp_port: int) -> Path:
    keep = f"import sys; open({str(stdin_copy)!r}, 'wb').write(sys.stdin.buffer.read())"
    lines = ["[watcher]", f'database = "sqlite:///{path.parent / "watcher.db"}"',
             'tags_interval = "1ms"', "",
             "[[registries]]", f'host = "{registry.host}"', "insecure = true", "retries = 0",
             'timeout = "10s"', "",
             "[[notify.webhook]]", 'name = "hook"', f'url = "{hook}"', 'retry_for = "1h"', "",
             "[[notify.command]]", 'name = "keep"',
             f"argv = {json.dumps([sys.executable, '-c', keep])}", "",
             "[notify.email]", 'host = "127.0.0.1"', f"port = {smtp_port}", "starttls = false",
             'from = "watcher@example.org"', 'to = ["ops@example.org"]', "",
             "[[sources.files]]", 'name = "shop"', 'path = "repo"']
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.registry
def test_two_bases_of_one_dockerfile_moving_in_one_round_are_one_entry(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    push = registry_open.push
    golang_repository, python_repository = f"{repository}/golang", f"{repository}/python"
    push.push_image(golang_repository, "1.22", env=["GOLANG_VERSION=1.22.4"])
    push.push_image(python_repository, "3.12-slim", env=["PYTHON_VERSION=3.12.7"])
    push.push_image(python_repository, "3.12.7-slim", env=["PYTHON_VERSION=3.12.7"])
    golang = str(registry_open.ref(golang_repository, "1.22"))
    python = str(registry_open.ref(python_repository, "3.12-slim"))
    pinned_version = str(registry_open.ref(python_repository, "3.12.7-slim"))
    newer_version = str(registry_open.ref(python_repository, "3.12.8-slim"))
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "worker").mkdir()
    (repo / "app" / "Dockerfile").write_text(
        f"FROM {golang} AS build\nRUN go build\nFROM {python} AS runtime\n"
        "COPY --from=build /out /out\n")
    (repo / "worker" / "Dockerfile").write_text(f"FROM {pinned_version}\n")
    stdin_copy = tmp_path / "stdin.json"
    with HookReceiver(lambda hit: (200, {}, b"")) as hook, smtp_server() as (port, inbox):
        config = _config(tmp_path / "watcher.toml", registry_open, hook.url, stdin_copy, port)
        first = run("check", "--config", str(config))
        assert first.exit_code == 0, first.stdout + first.stderr
        settled = len(hook.hits)

        # One round: both bases of app/Dockerfile move, and worker's tag has a newer version.
        push.push_image(golang_repository, "1.22", env=["GOLANG_VERSION=1.22.5"])
        push.push_image(python_repository, "3.12-slim", env=["PYTHON_VERSION=3.12.8"])
        push.push_image(python_repository, "3.12.8-slim", env=["PYTHON_VERSION=3.12.8"])
        moved = run("check", "--config", str(config))
        assert moved.exit_code == 0, moved.stdout + moved.stderr
        hits = hook.hits[settled:]
        assert len(hits) == 1, [hit.body for hit in hits]
        events: list[dict[str, Any]] = json.loads(hits[0].body)
        mail = message_from_bytes(inbox.contents[-1], policy=policy.default)

    kinds = {(e["type"].rsplit(".", 1)[-1], e["subject"]) for e in events}
    assert {("digest_changed", golang), ("digest_changed", python),
            ("new_version", pinned_version)} <= kinds
    plan = events[-1]
    assert plan["type"] == "io.watcher.rebuild_plan"
    assert sorted(plan["data"]["events"]) == sorted(e["id"] for e in events[:-1])
    for event in events[:-1]:  # each event keeps its own facts, per image
        assert "by_dependent" not in event["data"]
        assert {d["path"] for d in event["data"]["dependents"]} <= {"app/Dockerfile",
                                                                     "worker/Dockerfile"}
    entries = {entry["name"]: entry for entry in plan["data"]["dependents"]}
    app = entries["`app/Dockerfile`"]
    bases = [f"`{golang}` (line 1, stage `build`)", f"`{python}` (line 3, stage `runtime`)"]
    assert app["headline"] in {  # the events' order in the round decides the bases' order
        f"Rebuild `app/Dockerfile` once: its bases {one} and {other} moved."
        for one, other in (bases, bases[::-1])}
    steps = {step["image"]: step["text"] for step in app["steps"]}
    assert steps[golang].startswith(f"base `{golang}` moved; Golang 1.22.4 -> 1.22.5")
    assert steps[python].startswith(f"base `{python}` moved; Python 3.12.7 -> 3.12.8")

    move = (f"Move `worker/Dockerfile` line 1 from `{pinned_version}` to `{newer_version}` "
            "(newer on the same line).")
    worker = entries["`worker/Dockerfile`"]
    assert [s["text"] for s in worker["steps"]] == [move]
    (newer,) = [e for e in events if e["type"] == "io.watcher.new_version"]
    assert [d["advice"] for d in newer["data"]["dependents"]] == [move]

    # The command gets the same plan on standard input, beside the events.
    stdin = json.loads(stdin_copy.read_text())
    assert [entry["headline"] for entry in stdin["by_dependent"]] == [
        entry["headline"] for entry in plan["data"]["dependents"]]
    assert stdin["count"] == len(events) - 1

    # The mail's text says it once, at the top, before the events per image.
    plain = mail.get_body(("plain",))
    assert plain is not None
    text = plain.get_content().replace("\r\n", "\n")
    assert text.startswith(
        "What to do, once per dependent:\n- Rebuild `app/Dockerfile` once: ")
    assert text.count("Rebuild `app/Dockerfile` once") == 1
    assert f"\n    {move}\n" in text

    # watcher advise says the same move; status says why each base needs a rebuild.
    advised = run("advise", "--config", str(config), "--json").json
    uses = {u["path"]: u for u in advised["sources"][0]["uses"]}
    assert uses["worker/Dockerfile"]["new"] == newer_version
    status = run("status", "--config", str(config), "--json").json
    why = {i["ref"]: [p["why"] for p in i["pending_events"]] for i in status["images"]}
    (golang_why,) = why[golang]
    assert golang_why.endswith(": Golang 1.22.4 -> 1.22.5 (patch)"), golang_why
    assert why[pinned_version] == ["newer tag 3.12.8-slim"]
    table = run("status", "--config", str(config)).stdout
    assert "Golang 1.22.4 -> 1.22.5 (patch)" in table
