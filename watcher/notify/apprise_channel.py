"""The Apprise channel: one of the 100+ services Apprise speaks (Slack, Teams, ntfy, ...).

Needs the optional extra ``watcher[apprise]``. Apprise URLs often carry tokens in the host or
path, so errors name only the URL scheme and mask every part of the URL.
Apprise says only "sent" or "not sent", so a failure is retried.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
from collections.abc import Sequence
from typing import Any

from watcher.notify.errors import ChannelError
from watcher.notify.message import Batch
from watcher.notify.outcome import Outcome
from watcher.notify.wording import Templates

INSTALL_HINT = "install it with: pip install 'watcher[apprise]'"


def _load_apprise(channel: str) -> Any:
    try:
        return importlib.import_module("apprise")
    except ImportError as exc:
        raise ChannelError(channel, f"needs the apprise package, which is not installed; "
                           f"{INSTALL_HINT}") from exc


def _scheme(url: str) -> str:
    return url.partition("://")[0] or "?"


class AppriseChannel:
    def __init__(
        self,
        urls: str | Sequence[str],
        *,
        name: str | None = None,
        grouped: bool = True,
        templates: Templates | None = None,
    ) -> None:
        self._urls = [urls] if isinstance(urls, str) else list(urls)
        self._name = name or "apprise " + ", ".join(_scheme(url) for url in self._urls)
        if not self._urls:
            raise ChannelError(self._name, "no Apprise URL given")
        self._apprise = _load_apprise(self._name)
        self._grouped = grouped
        self._templates = templates or Templates()
        for url in self._urls:
            if not self._apprise.Apprise().add(url):
                raise ChannelError(self._name, f"Apprise does not understand the "
                                   f"{_scheme(url)}:// URL given (see the Apprise URL list)")

    @property
    def name(self) -> str:
        return self._name

    @property
    def grouped(self) -> bool:
        return self._grouped

    @property
    def _secrets(self) -> list[str | None]:
        parts: list[str | None] = []
        for url in self._urls:
            rest = url.partition("://")[2]
            parts.append(rest)
            parts.extend(part for part in re.split(r"[/:@?&=#]+", rest) if len(part) >= 4)
        return parts

    async def send(self, batch: Batch) -> Outcome:
        try:
            title = self._templates.line("title.txt", batch)
            body = self._templates.render("body.txt", batch).strip()
        except ChannelError as exc:  # a broken template fails every time
            return Outcome.failed(f"{self._name}: {exc}", secrets=self._secrets)
        return await asyncio.to_thread(self._notify, title, body)

    def _notify(self, title: str, body: str) -> Outcome:
        apprise = self._apprise
        server = apprise.Apprise()
        for url in self._urls:
            server.add(url)
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            sent = bool(server.notify(body=body, title=title))
            logs = captured.getvalue()
        if sent:
            return Outcome.delivered()
        lines = [line.strip() for line in logs.splitlines() if line.strip()][:5]
        why = (": " + " | ".join(lines)) if lines else ""
        return Outcome.retry(f"{self._name}: Apprise could not deliver{why}",
                             secrets=self._secrets)
