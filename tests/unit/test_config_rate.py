"""[[registries]] rate and the Docker Hub defaults."""

from __future__ import annotations

import pytest

from watcher.config import Config, parse_config
from watcher.errors import ConfigError
from watcher.registry import DOCKER_HUB_CONCURRENCY, DOCKER_HUB_RATE, Rate
from watcher.service.registries import registry_settings


def _registry(**keys: object) -> Config:
    return parse_config({"registries": [{"host": "ghcr.io", **keys}],
                         "images": [{"ref": "ghcr.io/a/b:1"}, {"ref": "python:3"}]})


@pytest.mark.parametrize(("text", "rate"), [
    ("10/s", Rate(10, 1)), ("600/m", Rate(600, 60)), ("100/6h", Rate(100, 21600)),
    ("2.5 / second", Rate(2.5, 1)), ("5/90s", Rate(5, 90)), ("off", None)])
def test_rates(text: str, rate: Rate | None) -> None:
    assert _registry(rate=text).registries[0].rate == rate


@pytest.mark.parametrize("text", ["10", "0/s", "-1/s", "10/fortnight", "x/s", "10/0s"])
def test_bad_rates_name_the_key(text: str) -> None:
    with pytest.raises(ConfigError, match=r"registries\[0\]\.rate: .* is not a rate"):
        _registry(rate=text)


def test_docker_hub_is_spoken_to_gently_unless_told_otherwise() -> None:
    settings, _ = registry_settings(_registry())
    hub = settings["docker.io"]
    assert hub.rate == DOCKER_HUB_RATE
    assert hub.max_concurrency == DOCKER_HUB_CONCURRENCY
    assert settings["ghcr.io"].rate is None
    config = parse_config({"registries": [{"host": "index.docker.io", "rate": "off",
                                           "max_concurrency": 16}]})
    (entry,) = config.registries
    assert (entry.host, entry.rate, entry.max_concurrency) == ("docker.io", None, 16)
