"""The words of a notice per dependent: what to rebuild and why, from the event's facts."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.core.rebuild import classes_of, dependent_document, dependent_name, rebuild_line

EXPLANATION: dict[str, Any] = {
    "change": "patch",
    "versions": {"PYTHON_VERSION": ["3.12.7", "3.12.8"]},
    "packages": {"changed": {"openssl": ["3.0.13", "3.0.14"]}, "added": {}, "removed": {},
                 "count": 1},
    "tag": "3.12.8-slim-bookworm",
    "layers": {"changed": 2, "total": 4},
    "classes": ["patch"],
}


def dockerfile(stage: str | None = "runtime", path: str = "app/Dockerfile") -> dict[str, Any]:
    return dependent_document("files", "shop", path, f"{path}:3 {stage}", {
        "path": path, "line": 3, "stage": stage, "written": "python:3.12-slim"})


def test_the_line_names_the_dependent_the_base_and_what_changed_inside() -> None:
    line = rebuild_line(dockerfile(), "python:3.12-slim", EXPLANATION,
                        ["linux/amd64", "linux/arm64"], "3.13-slim")
    assert line == (
        "Rebuild `app/Dockerfile` (stage `runtime`): base `python:3.12-slim` now equals "
        "`3.12.8-slim-bookworm`; Python 3.12.7 -> 3.12.8; openssl 3.0.13 -> 3.0.14; "
        "1 package changed; linux/amd64 and linux/arm64; 2 of 4 layers changed. "
        "Newer line available: 3.13-slim.")


def test_a_refresh_without_version_moves_says_so_and_names_a_rebase() -> None:
    explanation = {"change": "rebuild", "versions": {}, "rebase": "3.12.8-slim-trixie",
                   "classes": ["rebuild", "rebase"]}
    line = rebuild_line(dockerfile(None), "python:3.12-slim", explanation,
                        ["linux/amd64", "linux/arm64/v8", "linux/386"])
    assert line == ("Rebuild `app/Dockerfile`: base `python:3.12-slim` moved; same versions, "
                    "base refreshed; linux/amd64, linux/arm64/v8 and linux/386. "
                    "Rebase available: 3.12.8-slim-trixie.")


def test_an_unexplained_move_is_still_one_line_per_dependent() -> None:
    assert rebuild_line(dockerfile(), "nginx:1", None) == (
        "Rebuild `app/Dockerfile` (stage `runtime`): base `nginx:1` moved.")


def test_containers_and_manifests_in_the_same_scheme() -> None:
    container = dependent_document("engine", "build-host", "abc123", "web",
                                   {"platform": "linux/amd64", "state": "running"})
    assert container["host"] == "build-host"
    assert container["name"] == "web"
    assert rebuild_line(container, "nginx:1", None).startswith(
        "Recreate container `build-host/web`: base `nginx:1` moved")
    manifest = dependent_document("files", "shop", "deploy/web.yaml", "deploy/web.yaml:9",
                                  {"path": "deploy/web.yaml", "line": 9,
                                   "context": "Deployment/web container web"})
    assert dependent_name(manifest) == "`deploy/web.yaml` (Deployment/web container web)"


def test_classes_come_from_the_explanation() -> None:
    assert classes_of(EXPLANATION) == ["patch"]
    assert classes_of({"change": "major"}) == ["major"]
    assert classes_of(None) == []
    assert classes_of({}) == []


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=6)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["versions", "packages", "tag", "layers", "rebase",
                                        "classes", "change"]), JSONISH),
       st.dictionaries(st.sampled_from(["source_kind", "path", "stage", "context", "host",
                                        "name", "label"]), JSONISH))
def test_odd_facts_never_raise(explanation: dict[str, Any], dependent: dict[str, Any]) -> None:
    line = rebuild_line(dependent, "python:3", explanation, ["linux/amd64"])
    assert "python:3" in line
    classes_of(explanation)
