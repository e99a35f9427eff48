"""config.example.toml loads, and documents every key the loader accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from watcher.config import IMAGE_KEYS, REGISTRY_KEYS, WATCHER_KEYS, load_config
from watcher.config.engines import ENGINE_KEYS
from watcher.config.http import HTTP_KEYS
from watcher.config.notify import (
    APPRISE_KEYS,
    COMMAND_KEYS,
    EMAIL_KEYS,
    NOTIFY_KEYS,
    WEBHOOK_KEYS,
)
from watcher.config.sources import FILES_KEYS

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_the_example_loads() -> None:
    config = load_config(EXAMPLE)
    assert config.images
    assert config.database == f"sqlite:///{EXAMPLE.parent / 'watcher.db'}"  # beside the file


def _documented_keys(table: str) -> set[str]:
    """Keys written (or commented out) in the example's ``[table]`` / ``[[table]]`` sections."""
    keys: set[str] = set()
    current = None
    for line in EXAMPLE.read_text().splitlines():
        header = re.fullmatch(r"#?\s*\[\[?([\w.]+)\]\]?.*", line.strip())
        if header:
            current = header[1]
            continue
        key = re.match(r"#?\s*(\w+)\s*=", line.strip())
        if current == table and key:
            keys.add(key[1])
    return keys


@pytest.mark.parametrize(
    ("table", "accepted"),
    [
        ("watcher", WATCHER_KEYS),
        ("registries", REGISTRY_KEYS),
        ("images", IMAGE_KEYS),
        ("notify", tuple(k for k in NOTIFY_KEYS if k not in ("webhook", "email", "command",
                                                               "apprise"))),
        ("notify.webhook", WEBHOOK_KEYS),
        ("notify.email", EMAIL_KEYS),
        ("notify.command", COMMAND_KEYS),
        ("notify.apprise", APPRISE_KEYS),
        ("sources.engine", ENGINE_KEYS),
        ("http", HTTP_KEYS),
        ("sources.files", FILES_KEYS),
    ],
)
def test_every_key_is_documented(table: str, accepted: tuple[str, ...]) -> None:
    documented = _documented_keys(table)
    # The secret variants: `password_env / password_file` are named in one comment line.
    text = EXAMPLE.read_text()
    missing = [k for k in accepted if k not in documented and not re.search(rf"\b{k}\b", text)]
    assert missing == []
    assert documented <= set(accepted), documented - set(accepted)
