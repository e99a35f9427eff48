"""Per dependent, what to do once about a batch's events; and the words for a newer tag."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.core.rebuild import dependent_document, move_line, removed_line
from watcher.core.rebuild_plan import NoticeFacts, plan_by_dependent
from watcher.notify import Batch, Notice
from watcher.notify.webhook import PLAN_TYPE, WebhookChannel
from watcher.notify.wording import Templates

GO = "golang:1.22"
PY = "python:3.12-slim"


def line(path: str, number: int, stage: str | None, written: str,
         source: str = "shop") -> dict[str, Any]:
    return dependent_document("files", source, path, f"{path}:{number} {stage or ''}".strip(), {
        "path": path, "line": number, "stage": stage, "written": written,
        "reference": written, "pinned": None})


def container(host: str, name: str, ident: str) -> dict[str, Any]:
    return dependent_document("engine", host, ident, name, {"platform": "linux/amd64"})


def moved(event_id: str, image: str, dependents: list[dict[str, Any]],
          versions: dict[str, list[str]] | None = None) -> NoticeFacts:
    explanation = {"change": "patch" if versions else "rebuild", "versions": versions or {},
                   "classes": ["patch" if versions else "rebuild"]}
    return NoticeFacts(event_id, "digest_changed", image, {
        "old_digest": "sha256:" + "a" * 64, "new_digest": "sha256:" + "b" * 64,
        "changed_platforms": {"linux/amd64": "changed"}, "explanation": explanation,
        "tag": image.rsplit(":", 1)[1], "newer_versions": [], "dependents": dependents})


def newer(event_id: str, image: str, dependents: list[dict[str, Any]], same_line: str | None,
          newest: str | None) -> NoticeFacts:
    return NoticeFacts(event_id, "new_version", image, {
        "same_line": same_line, "newest": newest, "new": [t for t in (same_line, newest) if t],
        "tag": image.rsplit(":", 1)[1], "newer_versions": [], "dependents": dependents})


MULTI_STAGE = [line("app/Dockerfile", 1, "build", GO), line("app/Dockerfile", 4, "runtime", PY)]


def test_a_multi_stage_file_whose_two_bases_moved_is_one_entry_naming_both() -> None:
    plans = plan_by_dependent([
        moved("e1", GO, [MULTI_STAGE[0]], {"GOLANG_VERSION": ["1.22.4", "1.22.5"]}),
        moved("e2", PY, [MULTI_STAGE[1], line("worker/Dockerfile", 2, None, PY)]),
    ])
    assert [p.name for p in plans] == ["`app/Dockerfile`", "`worker/Dockerfile`"]
    app, worker = plans
    assert app.headline == ("Rebuild `app/Dockerfile` once: its bases `golang:1.22` (line 1, "
                            "stage `build`) and `python:3.12-slim` (line 4, stage `runtime`) "
                            "moved.")
    assert app.lines == [
        "line 1, stage `build`: base `golang:1.22` moved; Golang 1.22.4 -> 1.22.5; linux/amd64.",
        "line 4, stage `runtime`: base `python:3.12-slim` moved; same versions, base "
        "refreshed; linux/amd64."]
    assert [s.event_id for s in app.steps] == ["e1", "e2"]
    assert worker.headline == ("Rebuild `worker/Dockerfile`: its base `python:3.12-slim` "
                               "(line 2) moved.")
    document = app.to_json()
    assert json.loads(json.dumps(document)) == document
    assert [s["image"] for s in document["steps"]] == [GO, PY]


def test_one_base_on_two_lines_of_a_file_is_one_step_naming_both_lines() -> None:
    (plan,) = plan_by_dependent([moved("e1", PY, [line("Dockerfile", 1, "a", PY),
                                                  line("Dockerfile", 5, "b", PY)])])
    assert plan.headline == ("Rebuild `Dockerfile`: its base `python:3.12-slim` (line 1, "
                             "stage `a`; line 5, stage `b`) moved.")
    assert len(plan.steps) == 1


def test_files_of_two_sources_and_containers_are_separate_dependents() -> None:
    plans = plan_by_dependent([
        moved("e1", PY, [line("Dockerfile", 1, None, PY, source="shop"),
                         line("Dockerfile", 1, None, PY, source="blog"),
                         container("build-host", "web", "c1")]),
        moved("e2", GO, [container("build-host", "web", "c1")]),
    ])
    assert [(p.source, p.name) for p in plans] == [
        ("shop", "`Dockerfile`"), ("blog", "`Dockerfile`"),
        ("build-host", "container `build-host/web`")]
    assert plans[2].headline == ("Recreate container `build-host/web` once: its bases "
                                 "`python:3.12-slim` and `golang:1.22` moved.")


def test_newer_tags_and_removed_tags_are_steps_too_and_first_seen_is_not() -> None:
    dockerfile = line("app/Dockerfile", 3, None, "python:3.12.7-slim")
    removed = NoticeFacts("e3", "tag_removed", "node:20", {
        "tag_digest": "sha256:" + "c" * 64, "tag": "20", "newer_versions": [],
        "dependents": [line("app/Dockerfile", 7, "tools", "node:20")]})
    first = NoticeFacts("e4", "first_seen", "redis:7", {
        "digest": "sha256:" + "d" * 64, "platforms": {}, "tag": "7", "newer_versions": [],
        "dependents": [line("app/Dockerfile", 9, None, "redis:7")]})
    (plan,) = plan_by_dependent([
        newer("e1", "python:3.12.7-slim", [dockerfile], "3.12.8-slim", "3.13.1-slim"),
        removed, first])
    assert plan.headline == ("Update `app/Dockerfile`: newer tags for `python:3.12.7-slim` "
                             "(line 3); removed: `node:20` (line 7, stage `tools`).")
    assert plan.lines == [
        "Move `app/Dockerfile` line 3 from `python:3.12.7-slim` to `python:3.12.8-slim` "
        "(newer on the same line; newest: 3.13.1-slim).",
        "Pick another tag for `app/Dockerfile` line 7 (stage `tools`): `node:20` was removed "
        "from its registry."]
    rebuilt = plan_by_dependent([moved("e0", PY, [line("app/Dockerfile", 1, None, PY)]),
                                 newer("e1", "python:3.12.7-slim", [dockerfile], "3.12.8-slim",
                                       None)])
    assert rebuilt[0].headline == ("Rebuild `app/Dockerfile`: its base `python:3.12-slim` "
                                   "(line 1) moved. Also 1 tag to edit.")


def test_the_move_is_the_one_watcher_advise_would_write() -> None:
    assert move_line(line("app/Dockerfile", 3, None, "python:3.12-slim"), PY, "3.12-slim",
                     None, "3.13-slim") == (
        "Move `app/Dockerfile` line 3 from `python:3.12-slim` to `python:3.13-slim` "
        "(a newer line).")
    variable = line("tools/Dockerfile", 5, "runtime", "${PY}")
    variable["reference"] = "python:3.12.7-slim"
    assert move_line(variable, "python:3.12.7-slim", "3.12.7-slim", "3.12.8-slim", None) == (
        "Move `tools/Dockerfile` line 5 (stage `runtime`) from `python:3.12.7-slim` to "
        "`python:3.12.8-slim` (newer on the same line; `${PY}` comes from an ARG or "
        "variable: change its value there).")
    pinned = line("Dockerfile", 1, None, "python:3.12.7-slim@sha256:" + "a" * 64)
    assert move_line(pinned, "python:3.12.7-slim", "3.12.7-slim", "3.12.8-slim", None) == (
        f"Move `Dockerfile` line 1 from `python:3.12.7-slim@sha256:{'a' * 64}` to "
        "`python:3.12.8-slim` (newer on the same line; pin the new tag's digest).")
    assert move_line(container("h", "web", "c1"), "python:3.12.7-slim", "3.12.7-slim",
                     "3.12.8-slim", None) == (
        "Move container `h/web` from `python:3.12.7-slim` to `python:3.12.8-slim` "
        "(newer on the same line).")
    implied = line("Dockerfile", 1, None, "python")
    assert move_line(implied, "python:latest", "latest", None, "3.13") == (
        "Move `Dockerfile` line 1 from `python` to `python:3.13` (a newer line).")
    assert move_line(implied, "python@sha256:" + "a" * 64, None, None, "3.13") is None
    assert move_line(implied, "python:3.13", "3.13", None, "3.13") is None
    assert removed_line(container("h", "web", "c1"), "node:20") == (
        "Pick another tag for container `h/web`: `node:20` was removed from its registry.")


DEPENDENT = st.fixed_dictionaries({
    "source_kind": st.sampled_from(["files", "engine", "", None]),
    "source": st.one_of(st.none(), st.text(max_size=8)),
    "path": st.one_of(st.none(), st.text(max_size=8)),
    "line": st.one_of(st.none(), st.integers(-3, 9), st.booleans(), st.text(max_size=3)),
    "stage": st.one_of(st.none(), st.text(max_size=5)),
    "written": st.one_of(st.none(), st.text(max_size=20), st.integers()),
    "id": st.one_of(st.none(), st.text(max_size=4)),
})
DATA = st.fixed_dictionaries({
    "tag": st.one_of(st.none(), st.text(max_size=6), st.integers()),
    "same_line": st.one_of(st.none(), st.text(max_size=6)),
    "newest": st.one_of(st.none(), st.text(max_size=6), st.integers()),
    "newer_versions": st.one_of(
        st.none(), st.text(max_size=4),
        st.lists(st.one_of(st.text(max_size=4), st.integers()), max_size=3)),
    "changed_platforms": st.one_of(st.none(), st.dictionaries(st.text(max_size=4),
                                                               st.text(max_size=4))),
    "explanation": st.one_of(st.none(), st.just({"versions": "odd"}), st.just([])),
    "dependents": st.one_of(st.none(), st.text(max_size=3), st.lists(
        st.one_of(DEPENDENT, st.integers()), max_size=4)),
})


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["digest_changed", "new_version", "tag_removed",
                                           "first_seen", "other"]),
                          st.text(max_size=12), DATA), max_size=5))
def test_odd_notice_data_never_raises(notices: list[tuple[str, str, dict[str, Any]]]) -> None:
    plans = plan_by_dependent(NoticeFacts(str(i), kind, image, data)
                              for i, (kind, image, data) in enumerate(notices))
    for plan in plans:
        assert plan.steps
        assert plan.headline
        json.dumps(plan.to_json())


def notice(facts: NoticeFacts, summary: str) -> Notice:
    return Notice(facts.event_id, facts.kind, facts.image,
                  datetime(2026, 12, 3, 8, 0, tzinfo=UTC), summary, facts.data)


def test_batched_messages_carry_the_plan_and_single_events_stay_as_they_were() -> None:
    batch = Batch.of([
        notice(moved("e1", GO, [MULTI_STAGE[0]]), "golang moved"),
        notice(moved("e2", PY, [MULTI_STAGE[1]]), "python moved")])
    channel = WebhookChannel("http://127.0.0.1:9/hook")
    _, body = channel.request(batch)
    events = json.loads(body)
    assert [e["type"] for e in events] == ["io.watcher.digest_changed",
                                           "io.watcher.digest_changed", PLAN_TYPE]
    assert [e["id"] for e in events[:2]] == ["e1", "e2"]
    assert "by_dependent" not in events[0]["data"]
    plan = events[2]
    assert plan["id"] == f"{batch.id}-plan"
    assert plan["data"]["events"] == ["e1", "e2"]
    (entry,) = plan["data"]["dependents"]
    assert entry["headline"].startswith("Rebuild `app/Dockerfile` once: its bases ")
    assert channel.request(batch)[1] == body  # the same on a resend

    single = Batch.of([notice(moved("e1", GO, [MULTI_STAGE[0]]), "golang moved")])
    assert [e["type"] for e in json.loads(channel.request(single)[1])] == [
        "io.watcher.digest_changed"]
    assert batch.to_json()["by_dependent"] == [entry]

    templates = Templates()
    for name in ("email.txt", "body.txt", "email.html"):
        text = templates.render(name, batch)
        assert text.count("Rebuild `app/Dockerfile` once") == 1, name
        assert "line 4, stage `runtime`: base `python:3.12-slim` moved" in text, name
        assert "once" not in templates.render(name, single), name


def test_dependents_to_rebuild_come_before_those_to_edit() -> None:
    worker = line("worker/Dockerfile", 1, None, "python:3.12.7-slim")
    plans = plan_by_dependent([
        newer("e1", "python:3.12.7-slim", [worker], "3.12.8-slim", None),
        moved("e2", PY, [line("app/Dockerfile", 1, None, PY)]),
        moved("e3", GO, [line("tools/Dockerfile", 1, None, GO)])])
    assert [p.name for p in plans] == ["`app/Dockerfile`", "`tools/Dockerfile`",
                                       "`worker/Dockerfile`"]
