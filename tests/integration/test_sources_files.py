"""Scanning a real directory tree: what is found, what is left, what a rescan re-reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from watcher.cli import main
from watcher.sources.files import FileSource

DIGEST = "sha256:" + "cd" * 32


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def tree(root: Path) -> None:
    write(root, "app/Dockerfile",
          "ARG BASE=python:3.12-slim\nFROM ${BASE} AS build\nRUN make\n"
          "FROM gcr.io/distroless/python3:nonroot AS runtime\nCOPY --from=build /a /a\n")
    write(root, "worker/Dockerfile", "FROM python:3.12-slim\n")
    write(root, "tools/ci.Dockerfile", f"FROM alpine:3.20@{DIGEST}\n")
    write(root, "compose.yaml",
          "services:\n  app:\n    build: {context: app, args: {BASE: 'python:3.13-slim'}}\n"
          "    image: shop/app\n  cache: {image: 'redis:7'}\n")
    write(root, "deploy/web.yaml",
          "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
          "spec: {template: {spec: {containers: [{name: w, image: 'nginx:1.27'}]}}}\n")
    write(root, ".github/workflows/ci.yml", "on: push\njobs: {t: {container: {image: x}}}\n")
    write(root, "node_modules/pkg/Dockerfile", "FROM never:1\n")
    write(root, ".git/Dockerfile", "FROM never:2\n")
    write(root, "README.md", "FROM never:3\n")


def found(source: FileSource) -> set[tuple[str, str, int]]:
    return {(str(d.image), d.path, d.line) for d in source.scan().dependents}


def test_a_tree_is_scanned_with_its_defaults(tmp_path: Path) -> None:
    tree(tmp_path)
    scan = FileSource(tmp_path).scan()
    rows = {(str(d.image), d.path, d.line, d.stage, d.context, d.builds) for d in scan.dependents}
    assert rows == {
        # app/Dockerfile is built by the compose service, with that service's build args
        ("docker.io/library/python:3.13-slim", "app/Dockerfile", 2, "build", "service app",
         "shop/app"),
        ("gcr.io/distroless/python3:nonroot", "app/Dockerfile", 4, "runtime", "service app",
         "shop/app"),
        ("docker.io/library/python:3.12-slim", "worker/Dockerfile", 1, None, None, None),
        (f"docker.io/library/alpine:3.20@{DIGEST}", "tools/ci.Dockerfile", 1, None, None, None),
        ("docker.io/library/redis:7", "compose.yaml", 5, None, "service cache", None),
        ("docker.io/library/nginx:1.27", "deploy/web.yaml", 4, None,
         "Deployment web, container w", None),
    }
    assert scan.problems == ()
    assert [d.pinned for d in scan.dependents if d.path == "tools/ci.Dockerfile"] == [True]


def test_a_rescan_reads_only_changed_files_and_drops_deleted_ones(tmp_path: Path) -> None:
    tree(tmp_path)
    source = FileSource(tmp_path)
    first = source.scan()
    assert first.files_read > 0
    again = source.scan()
    assert again.files_read == 0
    assert again.files_unchanged == first.files_read
    worker = write(tmp_path, "worker/Dockerfile", "FROM python:3.13-slim\n")
    os.utime(worker, ns=(1, 1))  # a changed stamp, whatever the clock's resolution
    third = source.scan()
    assert third.files_read == 1
    assert ("docker.io/library/python:3.13-slim", "worker/Dockerfile", 1) in found(source)
    (tmp_path / "deploy/web.yaml").unlink()
    assert not any(path == "deploy/web.yaml" for _, path, _ in found(source))


def test_include_and_exclude_are_honoured(tmp_path: Path) -> None:
    tree(tmp_path)
    source = FileSource(tmp_path, include=["**/Dockerfile"], exclude=["worker/**"])
    # exclude replaces the defaults: node_modules is read now
    paths = {path for _, path, _ in found(source)}
    assert paths == {"app/Dockerfile", "node_modules/pkg/Dockerfile"}


def test_problems_name_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "a/Dockerfile", "ARG TAG\nFROM node:${TAG}\n")
    write(tmp_path, "b/Dockerfile", "FROM a\nRUN <<EOF\nunterminated\n")
    write(tmp_path, "c/Dockerfile", b"\xff\xfe".decode("latin-1"))
    (tmp_path / "c/Dockerfile").write_bytes(b"\xff\xfeFROM x\n")
    write(tmp_path, "compose.yml", "services:\n  x: {build: {context: ../outside}}\n")
    problems = {str(p) for p in FileSource(tmp_path).scan().problems}
    assert problems == {
        "a/Dockerfile:2: 'node:${TAG}' uses TAG with no value: give it in build_args",
        "b/Dockerfile: not a valid Dockerfile: unterminated heredoc",
        "c/Dockerfile: not UTF-8 text",
        f"compose.yml:2: service x: its Dockerfile ../outside/Dockerfile is outside {tmp_path};"
        " not read",
    }


def test_links_never_lead_outside(tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere", "Dockerfile", "FROM secret:1\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "Dockerfile").symlink_to(outside)
    (root / "loop").symlink_to(root, target_is_directory=True)
    scan = FileSource(root).scan()
    assert scan.dependents == ()
    assert [str(p) for p in scan.problems] == ["Dockerfile: links outside; not read"]


def test_a_missing_directory_is_a_problem(tmp_path: Path) -> None:
    scan = FileSource(tmp_path / "gone").scan()
    assert [p.message for p in scan.problems] == ["does not exist"]


def test_watcher_scan_prints_text_and_json(tmp_path: Path) -> None:
    tree(tmp_path)
    runner = CliRunner()
    text = runner.invoke(main, ["scan", str(tmp_path)])
    assert text.exit_code == 0, text.output
    assert "docker.io/library/python:3.12-slim\n    worker/Dockerfile:1 FROM\n" in text.output
    assert "app/Dockerfile:2 FROM, stage build (service app, builds shop/app)" in text.output
    assert "tools/ci.Dockerfile:1 FROM, pinned by digest" in text.output
    result = runner.invoke(main, ["scan", "--json", "--build-arg", "X=1", str(tmp_path)])
    document = json.loads(result.output)
    refs = [i["ref"] for i in document["sources"][0]["images"]]
    assert refs == sorted(refs)
    assert len(refs) == 6
    bad = runner.invoke(main, ["scan", "--build-arg", "nope", str(tmp_path)])
    assert bad.exit_code == 2
    assert "expected NAME=VALUE" in bad.output
    missing = runner.invoke(main, ["scan", str(tmp_path / "gone")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    glob = runner.invoke(main, ["scan", "--include", "a/**b", str(tmp_path)])
    assert glob.exit_code == 2
    assert "whole path segment" in glob.output


def test_hostile_text_is_escaped_in_the_terminal_output(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services:\n  x: {image: \"bad\\e[31m:1\"}\n")
    result = CliRunner().invoke(main, ["scan", str(tmp_path)])
    assert "\x1b" not in result.output


def test_watcher_scan_without_a_path_reads_the_configured_sources(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    write(repo, "Dockerfile", "ARG BASE\nFROM $BASE\n")
    config = tmp_path / "watcher.toml"
    config.write_text('[[sources.files]]\npath = "repo"\n'
                      'build_args = { BASE = "python:3.13-slim" }\n')
    runner = CliRunner()
    result = runner.invoke(main, ["scan", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    (source,) = json.loads(result.output)["sources"]
    assert source["path"] == str(repo)
    assert [i["ref"] for i in source["images"]] == ["docker.io/library/python:3.13-slim"]
    config.write_text("[watcher]\n")
    empty = runner.invoke(main, ["scan", "--config", str(config)])
    assert empty.exit_code == 2
    assert "no [[sources.files]]" in empty.output
    config.write_text('[[sources.files]]\npath = "repo"\nbuild_args = { BASE = 1 }\n')
    bad = runner.invoke(main, ["scan", "--config", str(config)])
    assert bad.exit_code == 2
    assert "sources.files[0].build_args.BASE" in bad.output


def test_watcher_advise_before_any_check_calls_every_image_not_tracked(tmp_path: Path) -> None:
    write(tmp_path / "repo", "Dockerfile", "FROM python:3.12-slim\n")
    config = tmp_path / "watcher.toml"
    config.write_text(f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n'
                      '[[sources.files]]\npath = "repo"\n')
    result = CliRunner().invoke(main, ["advise", "--config", str(config), "--json",
                                       "--exit-code"])
    assert result.exit_code == 0, result.output
    (source,) = json.loads(result.stdout)["sources"]
    assert [u["action"] for u in source["uses"]] == ["not tracked"]
    assert "no database" in result.stderr
    assert not (tmp_path / "w.db").exists()
