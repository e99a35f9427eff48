"""The Apprise channel posting to a real HTTP receiver on loopback (Apprise's json:// scheme),
and the error a user gets without the optional package."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys

import pytest

from tests.support import missing_component
from tests.support.receivers import Answer, Hit, HookReceiver, three
from watcher.notify import OutcomeKind
from watcher.notify.errors import ChannelError


@pytest.fixture
def apprise_channel() -> type:
    if importlib.util.find_spec("apprise") is None:
        missing_component("the apprise package is not installed (pip install 'watcher[apprise]')")
    from watcher.notify.apprise_channel import AppriseChannel

    return AppriseChannel


def test_title_and_body_reach_the_service(apprise_channel: type) -> None:
    with HookReceiver(lambda hit: (200, {}, b"")) as hook:
        url = f"json://127.0.0.1:{hook.port}/rebuilds"
        outcome = asyncio.run(apprise_channel(url).send(three()))
        assert outcome.kind is OutcomeKind.DELIVERED, outcome
        [hit] = hook.hits
    assert hit.path == "/rebuilds"
    posted = json.loads(hit.body)
    assert posted["title"] == "3 base images changed: python:3.12-slim, node:20, redis:7"
    assert "python:3.12-slim points to a new digest" in posted["message"]
    assert "sha256:aaaaaaaaaaaa -> sha256:bbbbbbbbbbbb" in posted["message"]


def test_a_failing_service_is_retried_without_showing_the_url_secrets(
        apprise_channel: type) -> None:
    def refuse(hit: Hit) -> Answer:
        return 500, {}, b"nope"

    with HookReceiver(refuse) as hook:
        url = f"json://bot:pw-4242-secret@127.0.0.1:{hook.port}/tok-8888-secret"
        channel = apprise_channel(url, name=None)
        outcome = asyncio.run(channel.send(three()))
        assert len(hook.hits) >= 1
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.error is not None
    assert "Apprise could not deliver" in outcome.error
    for secret in ("pw-4242-secret", "tok-8888-secret"):
        assert secret not in outcome.error
        assert secret not in channel.name
    assert channel.name == "apprise json"


def test_an_unknown_url_is_refused_at_setup_without_echoing_it(apprise_channel: type) -> None:
    with pytest.raises(ChannelError, match="does not understand the nosuch:// URL") as caught:
        apprise_channel("nosuch://token-777777/abc")
    assert "token-777777" not in caught.value.message


def test_without_the_package_the_error_says_how_to_install_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # what an absent package looks like
    from watcher.notify.apprise_channel import AppriseChannel

    with pytest.raises(ChannelError, match=r"pip install 'watcher\[apprise\]'"):
        AppriseChannel("json://127.0.0.1:1/x")
