"""``[notify]``: channels, routes, soak windows, and errors that name file and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from watcher.config import Config, load_config
from watcher.config.notify import (
    AppriseSettings,
    CommandSettings,
    EmailSettings,
    WebhookSettings,
)
from watcher.core.events import EventKind
from watcher.errors import ConfigError

SECRET = "s3cr3t-webhook-key-value"


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "watcher.toml"
    path.write_text(textwrap.dedent(text))
    return load_config(path)


def error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return info.value


def test_the_issue_example_loads_with_derived_names(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_WEBHOOK_SECRET", SECRET)
    config = load(tmp_path, """
        [notify]
        soak = "2h"

        [[notify.webhook]]
        url = "https://ci.example/hooks/rebuild"
        secret_env = "WATCHER_WEBHOOK_SECRET"
        events = ["digest_changed", "new_version"]

        [[notify.webhook]]
        name = "local"
        url = "http://127.0.0.1:9000/hook"
        grouped = false
        images = ["python:*"]
        soak = 0
        retry_for = "1h"

        [notify.email]
        host = "smtp.example.org"
        port = 587
        starttls = true
        from = "watcher@example.org"
        to = ["ops@example.org"]

        [[notify.command]]
        argv = ["/usr/local/bin/trigger-rebuild"]
        timeout = "10m"

        [[notify.apprise]]
        url = "ntfy://ntfy.example/rebuilds"

        [[images]]
        ref = "python:3.12"
        soak = "30m"
    """)
    assert config.soak == 7200.0
    assert config.images[0].soak == 1800.0
    names = [c.name for c in config.channels]
    assert names == ["webhook:ci.example", "local", "email", "command:trigger-rebuild",
                     "apprise:ntfy"]
    hook, local, email, command, apprise = config.channels
    assert isinstance(hook.settings, WebhookSettings)
    assert hook.settings.secret == SECRET
    assert hook.route.kinds == frozenset({EventKind.DIGEST_CHANGED, EventKind.NEW_VERSION})
    assert hook.route.soak is None
    assert hook.route.retry_for == 86400.0
    assert local.route.grouped is False
    assert local.route.soak == 0.0
    assert local.route.retry_for == 3600.0
    assert local.route.images == ("python:*",)
    assert isinstance(email.settings, EmailSettings)
    assert email.settings.security == "starttls"
    assert isinstance(command.settings, CommandSettings)
    assert command.settings.timeout == 600.0
    assert isinstance(apprise.settings, AppriseSettings)
    assert SECRET not in repr(config)


def test_several_email_channels_as_an_array(tmp_path: Path) -> None:
    config = load(tmp_path, """
        [[notify.email]]
        name = "ops"
        host = "smtp.example.org"
        tls = true
        from = "w@example.org"
        to = ["ops@example.org", "dev@example.org"]
        [[notify.email]]
        name = "dev"
        host = "smtp.example.org"
        starttls = false
        port = 25
        from = "w@example.org"
        to = ["dev@example.org"]
    """)
    ops, dev = (c.settings for c in config.channels)
    assert isinstance(ops, EmailSettings)
    assert (ops.security, ops.port, ops.recipients) == ("tls", 465,
                                                        ("ops@example.org", "dev@example.org"))
    assert isinstance(dev, EmailSettings)
    assert (dev.security, dev.port) == ("none", 25)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('[[notify.webhook]]\nurl = "https://a.example/"\nsecrets = "x"\n',
         "notify.webhook[0].secrets", "did you mean 'secret'"),
        ('[[notify.webhook]]\nurl = "ftp://a.example/"\n', "notify.webhook[0].url",
         "http:// or https://"),
        ('[[notify.webhook]]\nurl = "https://"\n', "notify.webhook[0].url", "with a host"),
        ('[[notify.webhook]]\nurl = "https://a.example:port/"\n', "notify.webhook[0].url",
         "not a valid URL"),
        ('[[notify.webhook]]\n', "notify.webhook[0].url", "is required"),
        ('[[notify.webhook]]\nurl = "https://a.example/"\nevents = ["digest_moved"]\n',
         "notify.webhook[0].events", "'digest_moved' is not an event kind; use digest_changed"),
        ('[[notify.webhook]]\nurl = "https://a.example/x"\n'
         '[[notify.webhook]]\nurl = "https://a.example/y"\n',
         "notify.webhook[1].name", "'webhook:a.example' is used twice (also notify.webhook[0])"),
        ('[[notify.command]]\nname = "x"\nargv = ["a"]\n[[notify.apprise]]\nname = "x"\n'
         'url = "ntfy://n/t"\n', "notify.apprise[0].name", "used twice"),
        ('[[notify.webhook]]\nurl = "https://a.example/"\nsecret_env = "WATCHER_NOT_SET_X"\n',
         "notify.webhook[0].secret_env", "environment variable WATCHER_NOT_SET_X is not set"),
        ('[[notify.webhook]]\nurl = "https://a.example/"\nsecret = "a"\nsecret_env = "B"\n',
         "notify.webhook[0].secret_env", "set only one of"),
        ('[notify.email]\nhost = "h"\nfrom = "a@b"\nto = ["c@d"]\nusername = "u"\n',
         "notify.email", "a login needs both username and password"),
        ('[notify.email]\nhost = "h"\nfrom = "a@b"\nto = []\n', "notify.email.to",
         "at least one address"),
        ('[notify.email]\nhost = "h"\nfrom = "a@b"\nto = ["c@d"]\ntls = true\n'
         'starttls = true\n', "notify.email.starttls", "not both"),
        ('[[notify.command]]\nargv = []\n', "notify.command[0].argv", "is required"),
        ('[[notify.apprise]]\nurl = "nothing"\n', "notify.apprise[0].url", "Apprise URL"),
        ('[notify]\nsoak = "soon"\n', "notify.soak", "not a duration"),
        ('[[notify.webhook]]\nurl = "https://a.example/"\nclasses = ["security"]\n',
         "notify.webhook[0].classes", "'security' is not a change class; use rebuild, patch"),
        ('[[notify.webhook]]\nurl = "https://a.example/"\nclasses = []\n',
         "notify.webhook[0].classes", "is empty"),
        ('[[notify.command]]\nargv = ["a"]\nclasses = "major"\n',
         "notify.command[0].classes", "list"),
        ('[notify]\nchannels = []\n', "notify.channels", "unknown key"),
        ('[notify]\ntemplates = "no-such-dir"\n', "notify.templates", "not a directory"),
        ('[[images]]\nref = "python:3"\nsoak = "forever"\n', "images[0].soak",
         "not a duration"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, key: str, message: str) -> None:
    problem = error(tmp_path, text)
    assert problem.key == key
    assert message in str(problem)
    assert str(tmp_path / "watcher.toml") in str(problem)


def test_a_secret_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "hook.secret").write_text(SECRET + "\n")
    config = load(tmp_path, """
        [[notify.webhook]]
        url = "https://a.example/"
        secret_file = "hook.secret"
    """)
    (hook,) = config.channels
    assert isinstance(hook.settings, WebhookSettings)
    assert hook.settings.secret == SECRET


def test_errors_never_carry_the_secret_url_parts(tmp_path: Path) -> None:
    problem = error(tmp_path, f"""
        [[notify.webhook]]
        url = "ftp://user:{SECRET}@a.example/?token={SECRET}"
    """)
    assert SECRET not in str(problem)


def test_a_channel_subscribes_by_change_class(tmp_path: Path) -> None:
    config = load(tmp_path, """
        [[notify.webhook]]
        url = "https://a.example/hook"
        classes = ["major", "rebase"]
        [[notify.command]]
        argv = ["/bin/true"]
    """)
    hook, command = config.channels
    assert hook.route.classes == frozenset({"major", "rebase"})
    assert command.route.classes is None
