"""What changed inside an image, from its old and new configs."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from watcher.core.events import DigestChanged, describe_event, payload_data, payload_from_data
from watcher.core.explain import describe_explanation, explain
from watcher.core.observation import ImageConfig


def config(*env: str, created: str = "2026-01-01T00:00:00Z", **labels: str) -> ImageConfig:
    return ImageConfig("sha256:" + "0" * 64, created, tuple(env),
                       MappingProxyType({k.replace("_", "."): v for k, v in labels.items()}))


@pytest.mark.parametrize(
    ("old", "new", "change"),
    [
        ("3.12.7", "3.12.8", "patch"),
        ("3.12.8", "3.13.0", "minor"),
        ("3.13.0", "4.0.0", "major"),
        ("1.27.3", "1.27.3", "rebuild"),
        ("3.13.0", "3.14.0rc1", "pre-release"),
        ("22.11.0", "22.12.0", "minor"),
        ("1.0", "1.0-r1", "patch"),
    ],
)
def test_version_changes_are_classified(old: str, new: str, change: str) -> None:
    found = explain({"linux/amd64": (config(f"PYTHON_VERSION={old}", "PATH=/a"),
                                     config(f"PYTHON_VERSION={new}", "PATH=/b"))})
    assert found is not None
    assert found.change == change
    if old != new:
        assert found.versions == {"PYTHON_VERSION": (old, new)}
    else:
        assert found.versions == {}  # PATH changed too, but is no version


def test_labels_created_and_platforms() -> None:
    found = explain({
        "linux/amd64": (config("NGINX_VERSION=1.27.3", created="2026-01-01T00:00:00Z",
                               org_opencontainers_image_revision="abc"),
                        config("NGINX_VERSION=1.27.4", created="2026-02-01T00:00:00Z",
                               org_opencontainers_image_revision="def")),
        "linux/arm64/v8": (None, config("NGINX_VERSION=1.27.4")),  # old one gone
    })
    assert found is not None
    assert found.platforms == ("linux/amd64",)
    assert found.labels == {"org.opencontainers.image.revision": ("abc", "def")}
    assert found.created == ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    assert describe_explanation(found.data()) == "Nginx 1.27.3 -> 1.27.4 (patch)"
    assert explain({"": (None, config())}) is None


def test_the_explanation_travels_with_the_event_and_is_worded() -> None:
    found = explain({"": (config("NODE_VERSION=22.11.0"), config("NODE_VERSION=22.12.0"))})
    assert found is not None
    payload = DigestChanged("sha256:" + "a" * 64, "sha256:" + "b" * 64, {}, found.data())
    data = payload_data(payload)
    assert data["explanation"]["versions"] == {"NODE_VERSION": ["22.11.0", "22.12.0"]}
    assert payload_from_data("digest_changed", data).explanation == data["explanation"]
    assert describe_event(payload).endswith(": Node 22.11.0 -> 22.12.0 (minor)")
    rebuilt = DigestChanged(None, "sha256:" + "b" * 64, {}, {"change": "rebuild"})
    assert describe_event(rebuilt).endswith(": rebuilt on the same versions")


def test_hostile_values_are_cut_and_never_crash() -> None:
    long = "9" * 10_000
    found = explain({"": (config("X_VERSION=1", "=nameless", "novalue"),
                          config(f"X_VERSION={long}"))})
    assert found is not None
    assert len(found.versions["X_VERSION"][1] or "") <= 200
    assert describe_explanation({"versions": "nonsense"}) == "rebuilt on the same versions"
    assert describe_explanation({"versions": {"A_VERSION": [1]}}) == (
        "rebuilt on the same versions")


def test_changed_layers_are_counted_the_most_among_the_platforms() -> None:
    def layered(*layers: str) -> ImageConfig:
        return ImageConfig("sha256:" + "0" * 64, None, (), MappingProxyType({}),
                           layers=tuple(f"sha256:{n * 64}" for n in layers))

    found = explain({"linux/amd64": (layered("a", "b", "c", "d"), layered("a", "b", "e", "f")),
                     "linux/arm64": (layered("a", "b"), layered("a", "c"))})
    assert found is not None
    assert found.data()["layers"] == {"changed": 2, "total": 4}
    unlayered = explain({"": (config(), config())})
    assert unlayered is not None
    assert "layers" not in unlayered.data()
