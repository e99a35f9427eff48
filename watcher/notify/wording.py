"""Message wording from Jinja2 templates, rendered in a sandbox.

The defaults ship in ``watcher/notify/templates/``. A user directory, when given, is searched
first, so a file there with the same name (``subject.txt``, ``email.txt``, ``email.html``,
``title.txt``, ``body.txt``) replaces the default. ``.html`` templates are autoescaped.
Each template sees ``batch``, ``images`` (a list of ``(image, notices)``), ``count`` (images),
``plans`` (per dependent, what to do once: :mod:`watcher.core.rebuild_plan`)
and the filter ``short`` (a digest cut to 12 hex characters).
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from watcher.notify.errors import ChannelError
from watcher.notify.message import Batch

SUBJECT_LIMIT = 200


def short_digest(digest: object) -> str:
    if not isinstance(digest, str) or not digest:
        return "?"
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm}:{hexpart[:12]}" if hexpart else digest[:19]


class Templates:
    def __init__(self, directory: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if directory is not None:
            if not directory.is_dir():
                raise ChannelError("templates", f"template directory {str(directory)!r} "
                                   "does not exist or is not a directory")
            loaders.append(jinja2.FileSystemLoader(directory))
        loaders.append(jinja2.PackageLoader("watcher.notify", "templates"))
        self._env = SandboxedEnvironment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",),
                                                default_for_string=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.filters["short"] = short_digest

    def render(self, name: str, batch: Batch) -> str:
        try:
            template = self._env.get_template(name)
            return template.render(batch=batch, images=batch.images(), count=len(batch.images()),
                                   plans=batch.plans())
        except jinja2.TemplateError as exc:
            raise ChannelError("templates", f"template {name!r} failed: {exc}") from exc

    def line(self, name: str, batch: Batch, limit: int = SUBJECT_LIMIT) -> str:
        """A template rendered as one line (subjects, titles), whitespace collapsed."""
        text = " ".join(self.render(name, batch).split())
        return text if len(text) <= limit else text[: limit - 1] + "…"
