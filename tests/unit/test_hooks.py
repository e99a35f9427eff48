"""Registry webhook payloads read as pushes; hostile ones are errors, never crashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.core.hooks import HookError, Push, parse_pushes, pushed_images

DATA = Path(__file__).parent.parent / "data" / "hooks"


def load(name: str) -> object:
    return json.loads((DATA / name).read_text())


def test_distribution_registry_envelope_keeps_manifest_pushes_only() -> None:
    assert parse_pushes(load("distribution.json")) == [
        Push("registry.example.com", "shop/base", "3.12-slim"),
        Push("registry.example.com", "shop/base", None),  # a manifest by digest
    ]


def test_gitlab_sends_the_distribution_envelope() -> None:
    assert parse_pushes(load("gitlab.json")) == [
        Push("registry.gitlab.example.com", "group/project/image", "main")]


def test_docker_hub_webhook() -> None:
    assert parse_pushes(load("dockerhub.json")) == [Push("docker.io", "acme/app", "1.4.2")]
    official = {"push_data": {"tag": "1"}, "repository": {"repo_name": "nginx"}}
    assert parse_pushes(official) == [Push("docker.io", "library/nginx", "1")]


def test_harbor_webhook() -> None:
    assert parse_pushes(load("harbor.json")) == [
        Push("harbor.example.com", "platform/runtime", "v2.1")]
    assert parse_pushes({"type": "DELETE_ARTIFACT", "event_data": {}}) == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "not a JSON object"),
        ("text", "not a JSON object"),
        ({}, "not a registry notification"),
        ({"events": {}}, "'events' is not a list"),
        ({"events": [{}] * 1001}, "more than 1000 events"),
        ({"push_data": 1, "repository": {}}, "must be objects"),
        ({"push_data": {}, "repository": {"repo_name": 5}}, "repo_name' is missing"),
        ({"type": "PUSH_ARTIFACT", "event_data": []}, "not an object"),
        ({"type": "PUSH_ARTIFACT", "event_data": {"resources": []}}, "is missing"),
    ],
)
def test_bad_payloads_say_what_is_wrong(payload: object, message: str) -> None:
    with pytest.raises(HookError, match=message):
        parse_pushes(payload)


def test_odd_values_are_skipped_not_trusted() -> None:
    events = {"events": [
        "not an event",
        {"action": "push", "target": "x"},
        {"action": "push", "target": {"repository": "a" * 600, "tag": "1"}},
        {"action": "push", "target": {"repository": "ok/repo", "tag": "t" * 200,
                                      "mediaType": "x"}},
        {"action": "push", "target": {"repository": "OK/Repo", "tag": "1"},
         "request": {"host": "Evil/../host"}},
    ]}
    assert parse_pushes(events) == [Push(None, "ok/repo", "1")]


def test_pushes_choose_every_tracked_tag_of_the_repository() -> None:
    tracked = [("127.0.0.1:5000", "shop/base", "1"), ("127.0.0.1:5000", "shop/base", "2"),
               ("127.0.0.1:5000", "shop/other", "1"), ("ghcr.io", "shop/base", "1")]
    assert pushed_images([Push("127.0.0.1:5000", "shop/base", "9")], tracked) == {0, 1}
    assert pushed_images([Push(None, "shop/base", None)], tracked) == {0, 1, 3}
    # A host watcher does not know by that name (localhost for 127.0.0.1): the repository
    # decides.
    assert pushed_images([Push("localhost:5000", "shop/other", "1")], tracked) == {2}
    assert pushed_images([Push("ghcr.io", "nope/x", "1")], tracked) == set()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["events", "action", "target", "repository", "tag",
                                       "push_data", "repo_name", "type", "event_data",
                                       "resources", "resource_url", "request", "host",
                                       "mediaType", "repo_full_name"]) | st.text(max_size=5),
                      children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(JSON)
def test_any_json_is_pushes_or_a_hook_error(document: object) -> None:
    try:
        pushes = parse_pushes(document)
    except HookError:
        return
    assert all(isinstance(p.repository, str) and p.repository for p in pushes)
