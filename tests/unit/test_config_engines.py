"""``[[sources.engine]]``: engines by name, URLs checked, TLS files together, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from watcher.config import load_config, parse_config
from watcher.config.engines import DEFAULT_ENGINE_URL
from watcher.errors import ConfigError


def engines(*items: dict[str, Any]) -> dict[str, Any]:
    return {"sources": {"engine": list(items)}}


def test_an_engine_needs_only_a_name(tmp_path: Path) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text('[[sources.engine]]\nname = "local"\n\n[[sources.engine]]\nname = "build"\n'
                    'url = "tcp://build-host:2376"\nca_file = "certs/ca.pem"\n'
                    'client_cert = "certs/cert.pem"\nclient_key = "certs/key.pem"\n'
                    'stopped = true\nlabelled_only = true\n')
    local, build = load_config(path).sources.engines
    assert (local.name, local.url, local.tls, local.stopped) == ("local", DEFAULT_ENGINE_URL,
                                                                  False, False)
    assert local.socket_path == "/var/run/docker.sock"
    assert build.url == "tcp://build-host:2376"
    assert build.tls
    assert build.ca_file == tmp_path / "certs/ca.pem"  # beside the config file
    assert (build.stopped, build.labelled_only) == (True, True)
    assert build.socket_path is None


@pytest.mark.parametrize(("item", "key", "message"), [
    ({}, "sources.engine[0].name", "is required"),
    ({"name": "a", "url": "http://host:2375"}, "sources.engine[0].url",
     "must start with unix:// or tcp://"),
    ({"name": "a", "url": "unix://run/docker.sock"}, "sources.engine[0].url", "absolute path"),
    ({"name": "a", "url": "tcp://host"}, "sources.engine[0].url", "needs a host and a port"),
    ({"name": "a", "url": "tcp://host:99999"}, "sources.engine[0].url", "is not a URL"),
    ({"name": "a", "url": "tcp://h:1", "client_cert": "c.pem"}, "sources.engine[0].client_key",
     "is required with client_cert"),
    ({"name": "a", "ca_file": "ca.pem"}, "sources.engine[0].ca_file", "TLS is for tcp://"),
    ({"name": "a", "url": "tcp://h:1", "ca_file": "ca.pem", "tls": False},
     "sources.engine[0].tls", "certificate files are given"),
    ({"name": "a", "stoped": True}, "sources.engine[0].stoped", "did you mean 'stopped'"),
    ({"name": "a", "stopped": "yes"}, "sources.engine[0].stopped", "must be true or false"),
])
def test_invalid_engines_name_the_key(item: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_config(engines(item), path=Path("/etc/watcher.toml"))
    assert caught.value.key == key
    assert str(caught.value).startswith(f"/etc/watcher.toml: {key}: ")


def test_engine_names_are_unique_and_sources_kinds_known() -> None:
    with pytest.raises(ConfigError, match=r"sources.engine\[1\].name: 'a' is listed twice"):
        parse_config(engines({"name": "a"}, {"name": "a", "url": "unix:///x.sock"}))
    with pytest.raises(ConfigError, match=r"sources\.engines: unknown key; did you mean 'engine'"):
        parse_config({"sources": {"engines": []}})
    with pytest.raises(ConfigError, match=r"sources\.engine: must be an array of tables"):
        parse_config({"sources": {"engine": {"name": "a"}}})
