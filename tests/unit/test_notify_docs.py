"""docs/notifications.md stays true: its stand-alone signature check accepts what the webhook
channel signs and rejects a tampered body, and its tables name every variable and template."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.support.receivers import three
from watcher.notify.command import environment
from watcher.notify.webhook import WebhookChannel

DOC = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text()
TEMPLATES = Path(__file__).resolve().parents[2] / "watcher" / "notify" / "templates"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC, re.DOTALL)


def test_the_documented_signature_check_matches_the_channel() -> None:
    [check] = [block for block in _python_blocks() if "def valid(" in block]
    scope: dict[str, Any] = {}
    exec(compile(check, "notifications.md", "exec"), scope)  # the documented code, as written
    valid = scope["valid"]
    for secret in ("whsec_c2lnbmluZyBrZXkgZm9yIHRoZSBkb2Nz", "a plain secret"):
        headers, body = WebhookChannel("http://127.0.0.1:1/", secret=secret).request(three())
        assert valid(secret, headers, body)
        assert not valid(secret, headers, body.replace(b"redis:7", b"redis:6"))


def test_every_command_variable_and_template_is_documented() -> None:
    for name in environment(three()):
        assert f"`{name}`" in DOC, name
    for template in TEMPLATES.iterdir():
        assert f"`{template.name}`" in DOC, template.name
