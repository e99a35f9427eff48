"""Images named in compose files and Kubernetes manifests."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.sources.manifests import scan_compose, scan_kubernetes


def test_compose_service_images_are_bases_unless_the_service_is_built() -> None:
    scan = scan_compose(
        "services:\n"
        "  web:\n"
        "    image: nginx:${NGINX:-1.27}-alpine\n"
        "  app:\n"
        "    build:\n"
        "      context: ./app\n"
        "      dockerfile: Containerfile\n"
        "      args: [PY=3.12, EMPTY]\n"
        "    image: shop/app:latest\n"
        "  short:\n"
        "    build: ./worker\n"
        "  literal: {image: 'img:$$X'}\n",
        {},
    )
    assert [(u.image, u.context, u.line) for u in scan.uses] == [
        ("nginx:1.27-alpine", "service web", 3), ("img:$X", "service literal", 12)]
    assert [(b.service, b.context, b.dockerfile, dict(b.args), b.image) for b in scan.builds] == [
        ("app", "./app", "Containerfile", {"PY": "3.12"}, "shop/app:latest"),
        ("short", "./worker", "Dockerfile", {}, None),
    ]


def test_compose_variables_come_from_build_args_or_are_a_problem() -> None:
    text = "services:\n  a: {image: 'redis:${REDIS}'}\n"
    assert [u.image for u in scan_compose(text, {"REDIS": "7"}).uses] == ["redis:7"]
    scan = scan_compose(text, {})
    assert scan.uses == ()
    assert "REDIS with no value" in scan.problems[0].message


def test_kubernetes_containers_at_any_depth_in_every_document() -> None:
    scan = scan_kubernetes(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly, namespace: ops}\n"
        "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n"
        "          initContainers: [{name: init, image: busybox:1.36}]\n"
        "          containers:\n          - name: job\n            image: python:3.12-slim\n"
        "---\n"
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n"
        "  metadata: {name: p}\n  spec: {containers: [{name: c, image: redis:7}]}\n"
        "---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
        "spec: {template: {spec: {containers: [{name: x, image: ' '}], "
        "ephemeralContainers: [{name: dbg, image: alpine:3.20}]}}}\n"
    )
    assert [(u.image, u.context) for u in scan.uses] == [
        ("busybox:1.36", "CronJob ops/nightly, container init"),
        ("python:3.12-slim", "CronJob ops/nightly, container job"),
        ("redis:7", "Pod p, container c"),
        ("alpine:3.20", "Deployment d, container dbg"),
    ]


def test_yaml_that_is_not_kubernetes_is_not_judged() -> None:
    workflow = "on: push\njobs:\n  t:\n    container: {image: node:22}\n"
    assert scan_kubernetes(workflow).recognised is False
    assert scan_kubernetes(workflow).uses == ()


def test_broken_yaml_is_a_problem_with_its_line() -> None:
    scan = scan_compose("services:\n  a: [\n")
    assert scan.problems
    assert scan.problems[0].message.startswith("not valid YAML")


def test_an_alias_bomb_costs_no_more_than_its_text() -> None:
    lines = ["apiVersion: v1", "kind: X", "a0: &a0 [{containers: [{image: 'x:1'}]}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    scan = scan_kubernetes("\n".join(lines) + "\n")
    assert [u.image for u in scan.uses] == ["x:1"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text: str) -> None:
    scan_compose(text)
    scan_kubernetes(text)
