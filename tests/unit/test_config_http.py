"""[http], instance and ping_url: parsed, defaulted, refused with the key named."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from watcher.config import parse_config
from watcher.errors import ConfigError


def test_http_is_off_unless_listen_is_set() -> None:
    assert parse_config({}).http is None
    config = parse_config({"http": {"listen": "127.0.0.1:9090", "hook_token": "x" * 16}})
    assert config.http is not None
    assert (config.http.host, config.http.port, config.http.hook_token) == (
        "127.0.0.1", 9090, "x" * 16)
    assert "x" * 16 not in repr(config)


@pytest.mark.parametrize(
    ("listen", "host", "address"),
    [("[::1]:9090", "::1", "[::1]:9090"), (":9090", "0.0.0.0", "0.0.0.0:9090"),
     ("localhost:80", "localhost", "localhost:80")],
)
def test_listen_forms(listen: str, host: str, address: str) -> None:
    http = parse_config({"http": {"listen": listen}}).http
    assert http is not None
    assert http.host == host
    assert http.address == address


def test_the_hook_token_may_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("0123456789abcdef-secret\n")
    config = parse_config({"http": {"listen": ":1", "hook_token_file": "token"}},
                          path=tmp_path / "watcher.toml")
    assert config.http is not None
    assert config.http.hook_token == "0123456789abcdef-secret"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"http": {"listen": "9090"}}, "http.listen: '9090' is not host:port"),
        ({"http": {"listen": "::1:9090"}}, "in brackets"),
        ({"http": {"listen": "[nope]:1"}}, "not an IPv6 address"),
        ({"http": {"listen": "a:70000"}}, "not from 1 to 65535"),
        ({"http": {"listen": ":1", "hook_token": "short"}}, "at least 16 characters"),
        ({"http": {"lisen": ":1"}}, "http.lisen: unknown key"),
        ({"watcher": {"instance": "a b"}}, "watcher.instance"),
        ({"watcher": {"instance": "x" * 64}}, "watcher.instance"),
        ({"watcher": {"ping_url": "ftp://monitor/1"}}, "watcher.ping_url: must be an http"),
    ],
)
def test_bad_values_name_the_key(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


def test_instance_defaults_to_the_host_name() -> None:
    assert parse_config({}).instance == (socket.gethostname() or "watcher")
    assert parse_config({"watcher": {"instance": "eu-1.prod"}}).instance == "eu-1.prod"


def test_ping_url_is_a_secret() -> None:
    config = parse_config({"watcher": {"ping_url": "https://hc-ping.com/0a1b2c3d"}})
    assert config.ping_url == "https://hc-ping.com/0a1b2c3d"
    assert "0a1b2c3d" not in repr(config)
