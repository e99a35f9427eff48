"""``watcher notify test`` through real channels from a real config file: a webhook receiver
and an SMTP server (aiosmtpd) on loopback, and a command. Secrets never reach the output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support import free_port
from tests.support.receivers import Answer, Hit, HookReceiver
from tests.support.smtp import Inbox, smtp_server
from watcher.cli import main

SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LTMyLWJ5dGVzLWxvbmc="
TOKEN = "tok-9f8e7d6c5b4a"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    with smtp_server() as running:
        yield running


def echo_back(hit: Hit) -> Answer:
    """Refuses for good, quoting the path it was sent (with the token in its query)."""
    return 401, {}, f"refused {hit.path}".encode()


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watcher.toml"
    path.write_text(text)
    return path


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner(env=env).invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_every_channel_answers_and_secrets_stay_out(
    tmp_path: Path, smtp: tuple[int, Inbox]
) -> None:
    port, inbox = smtp
    with HookReceiver(lambda hit: (204, {}, b"")) as good, HookReceiver(echo_back) as bad:
        config = write_config(tmp_path, f"""
[[notify.webhook]]
name = "ci"
url = "{good.url}/hooks"

[[notify.webhook]]
name = "pager"
url = "{bad.url}/hook?token={TOKEN}"
secret_env = "TEST_WEBHOOK_SECRET"

[notify.email]
host = "127.0.0.1"
port = {port}
starttls = false
from = "watcher@example.org"
to = ["ops@example.org"]

[[notify.command]]
name = "rebuild"
argv = ["sh", "-c", "exit 3"]
""")
        code, out, err = run("notify", "test", "-c", str(config),
                             env={"TEST_WEBHOOK_SECRET": SECRET})
        assert len(good.hits) == 1
        assert len(bad.hits) == 1
        assert bad.hits[0].headers["webhook-signature"]  # it was signed with the secret
    assert code == 1, err
    lines = dict(line.split(None, 1) for line in out.splitlines())
    assert lines["ci"] == "delivered"
    assert lines["email"] == "delivered"
    assert lines["pager"].startswith("failed: ")
    assert "refused /hook?token=***" in lines["pager"]  # the receiver quoted the token
    assert lines["rebuild"] == "retry: rebuild: exited with 3"
    assert list(lines) == ["ci", "pager", "email", "rebuild"]
    for secret in (SECRET, SECRET.removeprefix("whsec_"), TOKEN):
        assert secret not in out + err
    [mail] = inbox.contents
    assert b"Test message from watcher" in mail


def test_one_channel_by_name_exits_0_when_delivered(tmp_path: Path) -> None:
    with HookReceiver(lambda hit: (204, {}, b"")) as good, HookReceiver(echo_back) as bad:
        config = write_config(tmp_path, f"""
[[notify.webhook]]
name = "ci"
url = "{good.url}/"

[[notify.webhook]]
name = "pager"
url = "{bad.url}/"
""")
        code, out, err = run("notify", "test", "ci", "-c", str(config))
        assert bad.hits == []
        assert len(good.hits) == 1
    assert code == 0, err
    assert out == "ci  delivered\n"


def test_a_receiver_that_is_down_is_a_retry(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"""
[[notify.webhook]]
name = "ci"
url = "http://127.0.0.1:{free_port()}/"
""")
    code, out, _ = run("notify", "test", "-c", str(config))
    assert code == 1
    assert out.startswith("ci  retry: ")


def test_an_unknown_channel_is_a_usage_error_naming_the_known_ones(tmp_path: Path) -> None:
    config = write_config(tmp_path, """
[[notify.webhook]]
name = "ci"
url = "http://127.0.0.1:9/"

[[notify.command]]
argv = ["/usr/local/bin/trigger-rebuild"]
""")
    code, out, err = run("notify", "test", "nope", "-c", str(config))
    assert code == 2
    assert out == ""
    assert "no channel named 'nope'; the configured channels: ci, command:trigger-rebuild" in err


def test_no_channels_is_a_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[watcher]\n")
    code, _, err = run("notify", "test", "-c", str(config))
    assert code == 2
    assert "no notification channels configured" in err


def test_a_channel_that_cannot_be_built_fails_and_the_others_are_still_tried(
    tmp_path: Path,
) -> None:
    with HookReceiver(lambda hit: (204, {}, b"")) as good:
        config = write_config(tmp_path, f"""
[[notify.apprise]]
name = "chat"
url = "nosuchservice://{TOKEN}@example.org/room"

[[notify.webhook]]
name = "ci"
url = "{good.url}/"
""")
        code, out, err = run("notify", "test", "-c", str(config))
        assert len(good.hits) == 1
    assert code == 1, err
    lines = dict(line.split(None, 1) for line in out.splitlines())
    assert list(lines) == ["ci", "chat"]  # the config's order: webhooks first
    assert lines["chat"].startswith("failed: ")
    assert lines["ci"] == "delivered"
    assert TOKEN not in out + err
