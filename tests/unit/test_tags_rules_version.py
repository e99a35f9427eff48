"""Answers stored by an older watcher are ranked again when the ordering rules change: the tag
list fingerprint includes the rules' version."""

from __future__ import annotations

import pytest

import watcher.service.listing as service
from watcher.core.tags import RULES_VERSION, TagPolicy


def test_the_fingerprint_changes_with_the_rules_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = service._fingerprint("11.0.0-M20-jdk21", TagPolicy(), "list-digest")
    assert before == service._fingerprint("11.0.0-M20-jdk21", TagPolicy(), "list-digest")
    monkeypatch.setattr(service, "RULES_VERSION", RULES_VERSION + 1)
    assert service._fingerprint("11.0.0-M20-jdk21", TagPolicy(), "list-digest") != before

