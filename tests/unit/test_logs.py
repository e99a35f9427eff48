"""Log lines: registry text in console lines cannot drive the terminal; JSON lines exact."""

from __future__ import annotations

import json

import pytest
import structlog

from watcher.logs import configure_logging

HOSTILE = "boom\x1b[2J\x1b]0;owned\x07"


def test_console_lines_spell_out_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning", json=False)
    structlog.get_logger().warning("check failed", error=HOSTILE)
    err = capsys.readouterr().err
    assert "boom\\x1b[2J\\x1b]0;owned\\x07" in err
    assert "\x1b[2J" not in err
    assert "\x07" not in err


def test_json_lines_keep_the_text_exact(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning", json=True)
    structlog.get_logger().warning("check failed", error=HOSTILE)
    line = capsys.readouterr().err.strip()
    assert json.loads(line)["error"] == HOSTILE
