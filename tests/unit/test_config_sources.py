"""``[[sources.files]]``: parsed and validated, every error naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.config import FilesSourceConfig, parse_config
from watcher.errors import ConfigError

CONFIG = Path("/etc/watcher/watcher.toml")


def _files(entry: dict[str, object]) -> FilesSourceConfig:
    return parse_config({"sources": {"files": [entry]}}, path=CONFIG).sources.files[0]


def test_a_files_source_with_every_key() -> None:
    source = _files({"path": "repos/shop", "include": ["**/Dockerfile"],
                     "exclude": ["**/test/**"], "build_args": {"BASE_IMAGE": "python:3.12"}})
    assert source.path == Path("/etc/watcher/repos/shop")
    assert source.include == ("**/Dockerfile",)
    assert source.exclude == ("**/test/**",)
    assert source.build_args == {"BASE_IMAGE": "python:3.12"}


def test_a_source_is_named_by_its_path_unless_named() -> None:
    assert _files({"path": "repos/shop"}).name == "/etc/watcher/repos/shop"
    assert _files({"path": "repos/shop", "name": "shop"}).name == "shop"


def test_defaults_are_left_to_the_scanner() -> None:
    source = _files({"path": "/srv/shop"})
    assert source.include is None
    assert source.exclude is None
    assert parse_config({}, path=CONFIG).sources.files == ()


@pytest.mark.parametrize(
    ("raw", "key", "words"),
    [
        ({"sources": []}, "sources", "must be a table"),
        ({"sources": {"file": []}}, "sources.file", "did you mean 'files'"),
        ({"sources": {"files": {"path": "x"}}}, "sources.files", "array of tables"),
        ({"sources": {"files": [{}]}}, "sources.files[0].path", "is required"),
        ({"sources": {"files": [{"path": 3}]}}, "sources.files[0].path", "must be a string"),
        ({"sources": {"files": [{"path": "a", "paths": "b"}]}}, "sources.files[0].paths",
         "unknown key"),
        ({"sources": {"files": [{"path": "a", "include": "**/Dockerfile"}]}},
         "sources.files[0].include", "list of strings"),
        ({"sources": {"files": [{"path": "a", "exclude": ["a**b"]}]}},
         "sources.files[0].exclude", "whole path segment"),
        ({"sources": {"files": [{"path": "a", "build_args": {"TAG": 3}}]}},
         "sources.files[0].build_args.TAG", "must be a string"),
        ({"sources": {"files": [{"path": "a", "build_args": {"1X": "y"}}]}},
         "sources.files[0].build_args.1X", "not an ARG name"),
        ({"sources": {"files": [{"path": "a", "build_args": "X=1"}]}},
         "sources.files[0].build_args", "must be a table"),
        ({"sources": {"files": [{"path": "a"}, {"path": "a"}]}}, "sources.files[1].path",
         "listed twice"),
        ({"sources": {"files": [{"path": "a", "name": "x"}, {"path": "b", "name": "x"}]}},
         "sources.files[1].name", "listed twice"),
        ({"sources": {"files": [{"path": "a", "name": " "}]}}, "sources.files[0].name",
         "printable characters"),
        ({"sources": {"files": [{"path": "a", "name": "a\nb"}]}}, "sources.files[0].name",
         "printable characters"),
        ({"watcher": {"database": "postgresql://w@db/w", "replicas": "shared"},
          "sources": {"files": [{"path": "a"}]}}, "sources.files",
         "cannot be used with [watcher] replicas = \"shared\""),
    ],
)
def test_bad_sources_name_the_file_and_key(raw: dict[str, object], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, path=CONFIG)
    message = caught.value.message
    assert key in message
    assert words in message
    assert str(CONFIG) in message
