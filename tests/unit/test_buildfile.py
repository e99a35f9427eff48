"""Dockerfile semantics: which images a Dockerfile is built on, for every FROM form."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.core.buildfile import UseKind, expand
from watcher.sources.dockerfile import dockerfile_bases

DIGEST = "sha256:" + "ab" * 32


def bases(text: str, **build_args: str) -> list[tuple[str, str, int, str | None]]:
    found = dockerfile_bases(text, build_args)
    return [(str(u.image), str(u.kind), u.line, u.stage) for u in found.uses]


def problems(text: str, **build_args: str) -> list[str]:
    return [p.message for p in dockerfile_bases(text, build_args).problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM python:3.12-slim\n", "docker.io/library/python:3.12-slim"),
        ("FROM python\n", "docker.io/library/python:latest"),
        (f"FROM python:3.12@{DIGEST}\n", f"docker.io/library/python:3.12@{DIGEST}"),
        (f"FROM python@{DIGEST}\n", f"docker.io/library/python@{DIGEST}"),
        ("FROM --platform=linux/amd64 ghcr.io/org/img:1 AS build\n", "ghcr.io/org/img:1"),
        ("from Python:3 as Build\n", None),  # upper-case repository: not a reference
        ("FROM localhost:5000/app:dev\n", "localhost:5000/app:dev"),
        ("# syntax=docker/dockerfile:1\nFROM alpine:3.20\n", "docker.io/library/alpine:3.20"),
        ("\ufeffFROM alpine:3.20\n", "docker.io/library/alpine:3.20"),
        ("FROM \\\n  alpine:3.20 \\\n  AS base\n", "docker.io/library/alpine:3.20"),
        ("# escape=`\nFROM `\n  alpine:3.20\n", "docker.io/library/alpine:3.20"),
        ("ARG V=3.20\nFROM alpine:${V}\n", "docker.io/library/alpine:3.20"),
        ("ARG V=3.20\nFROM alpine:$V\n", "docker.io/library/alpine:3.20"),
        ("ARG V\nFROM alpine:${V:-3.19}\n", "docker.io/library/alpine:3.19"),
        ("ARG V=\nFROM alpine:${V:-3.19}\n", "docker.io/library/alpine:3.19"),
        ("ARG V=\nFROM alpine:3${V-.18}\n", "docker.io/library/alpine:3"),
        ("ARG V=x\nFROM alpine${V:+:3.17}\n", "docker.io/library/alpine:3.17"),
        ("ARG V=v3.16\nFROM alpine:${V#v}\n", "docker.io/library/alpine:3.16"),
        ("ARG V=3.15-rc\nFROM alpine:${V%-*}\n", "docker.io/library/alpine:3.15"),
        ("ARG R=ghcr.io ORG=acme\nFROM ${R}/${ORG}/base:1\n", "ghcr.io/acme/base:1"),
        ("ARG A=1\nARG B=${A}.2\nFROM img:${B}\n", "docker.io/library/img:1.2"),
    ],
)
def test_from_forms(text: str, expected: str | None) -> None:
    found = [b[0] for b in bases(text)]
    assert found == ([expected] if expected else [])


def test_build_args_win_over_defaults_and_fill_bare_args() -> None:
    text = "ARG BASE=python:3.11\nARG TAG\nFROM ${BASE}\nFROM node:${TAG}\n"
    assert [b[0] for b in bases(text, BASE="python:3.12-slim", TAG="22")] == [
        "docker.io/library/python:3.12-slim", "docker.io/library/node:22"]


def test_an_arg_with_no_value_is_a_problem_not_a_guess() -> None:
    text = "ARG TAG\nFROM node:${TAG}\nFROM alpine:3.20\n"
    assert [b[0] for b in bases(text)] == ["docker.io/library/alpine:3.20"]
    assert problems(text) == ["'node:${TAG}' uses TAG with no value: give it in build_args"]


def test_machine_dependent_args_are_named_as_such() -> None:
    text = "FROM --platform=$BUILDPLATFORM golang:1.22\nFROM img-${TARGETARCH}:1\n"
    assert [b[0] for b in bases(text)] == ["docker.io/library/golang:1.22"]
    assert "depends on the building machine (TARGETARCH)" in problems(text)[0]


def test_stage_names_are_not_bases_and_compare_case_insensitively() -> None:
    text = (
        "FROM golang:1.22 AS Build\n"
        "FROM build AS test\n"
        "FROM BUILD\n"
        "FROM scratch\n"
        "COPY --from=build /a /a\n"
        "COPY --from=Test /b /b\n"
        "COPY --from=0 /c /c\n"
    )
    assert bases(text) == [("docker.io/library/golang:1.22", "from", 1, "build")]


def test_a_later_stage_name_is_an_image_when_used_earlier() -> None:
    # BuildKit resolves names to stages defined before the use; later ones are images.
    text = "FROM alpine:3.20 AS a\nCOPY --from=tools /x /x\nFROM busybox AS tools\n"
    assert [b[0] for b in bases(text)] == [
        "docker.io/library/alpine:3.20", "docker.io/library/tools:latest",
        "docker.io/library/busybox:latest"]


def test_copy_and_mount_from_external_images_are_dependencies() -> None:
    text = (
        "FROM debian:bookworm AS run\n"
        "COPY --from=golang:1.22 /usr/local/go /go\n"
        "COPY --chown=1:1 --from=ghcr.io/astral-sh/uv:0.5 /uv /bin/uv\n"
        "ADD --from=nope /a /b\n"
        "RUN --mount=type=cache,target=/root/.cache,from=busybox:1.36 true\n"
        'RUN --mount=type=bind,"from=alpine:3.20",target=/x true\n'
        "RUN --mount=type=secret,id=x true\n"
    )
    assert bases(text) == [
        ("docker.io/library/debian:bookworm", "from", 1, "run"),
        ("docker.io/library/golang:1.22", "copy-from", 2, "run"),
        ("ghcr.io/astral-sh/uv:0.5", "copy-from", 3, "run"),
        ("docker.io/library/nope:latest", "copy-from", 4, "run"),
        ("docker.io/library/busybox:1.36", "mount-from", 5, "run"),
        ("docker.io/library/alpine:3.20", "mount-from", 6, "run"),
    ]


def test_copy_from_substitutes_the_stage_args_only_once_redeclared() -> None:
    text = "ARG TOOLS=busybox:1.36\nFROM alpine:3.20\nCOPY --from=${TOOLS} /a /a\n"
    assert [b[0] for b in bases(text)] == ["docker.io/library/alpine:3.20"]
    assert "TOOLS" in problems(text)[0]
    redeclared = "ARG TOOLS=busybox:1.36\nFROM alpine:3.20\nARG TOOLS\nCOPY --from=${TOOLS} /a /a\n"
    assert [b[0] for b in bases(redeclared)][1] == "docker.io/library/busybox:1.36"


def test_heredoc_bodies_and_comments_are_not_instructions() -> None:
    text = (
        "FROM alpine:3.20\n"
        "RUN <<EOT\n"
        "FROM evil:1\n"
        "EOT\n"
        "# FROM commented:1\n"
        "COPY <<EOF /etc/x\n"
        "FROM also-not:1\n"
        "EOF\n"
    )
    assert [b[0] for b in bases(text)] == ["docker.io/library/alpine:3.20"]


def test_lines_and_stages_are_reported() -> None:
    text = "ARG X=1\n\nFROM a:1 AS one\nRUN x\nFROM b:2\n"
    found = dockerfile_bases(text)
    assert [(u.line, u.stage, u.stage_index) for u in found.uses] == [(3, "one", 0), (5, None, 1)]
    assert found.stages == ("one", None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM\n", "FROM takes one image"),
        ("FROM a b c d\n", "FROM takes one image"),
        ("RUN x\nFROM a\n", "RUN before the first FROM"),
        ("FROM Not/Valid\n", "invalid image reference"),
        ("FROM a\nRUN <<EOF\nnever closed\n", "not a valid Dockerfile"),
        ("FROM a\x00\n", "NUL bytes"),
        ("FROM a AS x\nCOPY --from=x /a /a\n", "cannot copy from itself"),
    ],
)
def test_bad_dockerfiles_are_problems_with_a_reason(text: str, message: str) -> None:
    assert any(message in p for p in problems(text)), problems(text)


def test_an_empty_file_has_no_bases_and_no_problem() -> None:
    assert dockerfile_bases("").uses == ()
    assert dockerfile_bases("# only\n").problems == ()


@pytest.mark.parametrize(
    ("text", "values", "expected", "missing"),
    [
        ("${A}", {"A": "1"}, "1", []),
        ("${A:-d}", {"A": ""}, "d", []),
        ("${A-d}", {"A": ""}, "", []),
        ("${A:+x}", {"A": ""}, "", []),
        ("${A+x}", {"A": ""}, "x", []),
        ("${A:?need}", {"A": "v"}, "v", []),
        ("${A:?need}", {}, "${A:?need}", ["A"]),
        ("${A##*/}", {"A": "a/b/c"}, "c", []),
        ("${A%%/*}", {"A": "a/b/c"}, "a", []),
        ("\\$A", {"A": "1"}, "$A", []),
        ("$A$B", {"A": "1"}, "1$B", ["B"]),
        ("${A/x/y}", {"A": "x"}, "${A/x/y}", ["A"]),
    ],
)
def test_expand(text: str, values: dict[str, str], expected: str, missing: list[str]) -> None:
    assert expand(text, values) == (expected, missing)


NAMES = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
LINES = st.one_of(
    st.builds(lambda i, n: f"FROM {i}:1 AS {n}", NAMES, NAMES),
    st.builds(lambda n: f"FROM {n}", NAMES),
    st.builds(lambda n: f"COPY --from={n} /a /b", NAMES),
    st.builds(lambda n: f"RUN --mount=type=bind,from={n},target=/x true", NAMES),
    st.builds(lambda n, v: f"ARG {n.upper()}={v}", NAMES, NAMES),
    st.builds(lambda n: f"FROM ${{{n.upper()}}}", NAMES),
    st.sampled_from(["RUN <<EOT", "EOT", "# comment", "", "\\", "FROM", "COPY --from= a b"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=12))
def test_never_crashes_and_never_returns_an_earlier_stage(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    found = dockerfile_bases(text)
    for use in found.uses:
        earlier = {s for s in found.stages[: use.stage_index + (use.kind != UseKind.FROM)] if s}
        assert not (use.image.registry == "docker.io" and use.image.tag == "latest"
                    and use.image.repository.removeprefix("library/") in earlier)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes(text: str) -> None:
    found = dockerfile_bases(text, {"A": "b"})
    assert isinstance(found.uses, tuple)
    assert isinstance(found.problems, tuple)
