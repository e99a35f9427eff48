"""Logging, configured in one place: JSON lines when not on a terminal, console lines on one.

watcher's own modules log through structlog; a few (the registry's HTTP layer) and the
libraries underneath log through the standard library's ``logging``. Both end up on standard
error in the same format: standard-library records go through a handler on the root logger
that renders them with structlog's processors. watcher's loggers (``watcher.*``) follow the
chosen level; other libraries' loggers show warnings and above only, so ``--log-level debug``
shows watcher's retries and backoffs without every library's chatter.

structlog is imported when first needed: by :func:`get_logger` (the modules that log
through it) or by the first standard-library record. A command that logs nothing
(``watcher status``) never loads it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from watcher.terminal import printable

if TYPE_CHECKING:
    from structlog.typing import EventDict, Processor, WrappedLogger

# Multi-line text watcher itself formats (tracebacks), kept as it is.
_OWN_TEXT = frozenset({"exception", "stack"})

_HANDLER_NAME = "watcher"
MASK = "***"
# user:password@ in a URL, up to the last '@' before the host: hiding too much is harmless.
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^\s]*@")
_secrets: tuple[str, ...] = ()
# (threshold, json) chosen by configure_logging, not yet applied to structlog.
_pending: tuple[int, bool] | None = None


def redact(secrets: Iterable[str]) -> None:
    """Hide these values (the config's passwords and tokens) in every log line from now on,
    besides the password of any URL, which is always hidden. Replaces the previous set."""
    global _secrets
    _secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))


def hide_secrets(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _URL_PASSWORD.sub(rf"\1{MASK}@", text) if "://" in text else text


def _hide(value: object) -> object:
    if isinstance(value, str):
        return hide_secrets(value)
    if isinstance(value, list | tuple):
        return [_hide(item) for item in value]
    if isinstance(value, dict):
        return {key: _hide(item) for key, item in value.items()}
    return value


def _redact(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    """No secret in any line: the config's secrets and URL passwords are masked, in the
    message, every field and the rendered traceback."""
    for key, value in event.items():
        event[key] = _hide(value)
    return event


def configure_logging(level: str = "warning", *, json: bool | None = None) -> None:
    """Log to standard error; ``json=None`` picks JSON unless standard error is a terminal."""
    global _pending
    if json is None:
        json = not sys.stderr.isatty()
    threshold = logging.getLevelNamesMapping()[level.upper()]
    _pending = (threshold, json)
    if "structlog" in sys.modules:
        _apply()
    _route_standard_logging(threshold, json)


def get_logger(name: str) -> Any:
    """structlog's logger ``name``, structlog configured as :func:`configure_logging` said."""
    import structlog

    if _pending is not None:
        _apply()
    return structlog.get_logger(name)


def _apply() -> None:
    import structlog

    global _pending
    if _pending is None:
        return
    threshold, json = _pending
    _pending = None
    structlog.configure(
        processors=[*_shared(), structlog.processors.format_exc_info, _redact,
                    *_renderers(json)],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def _renderers(json: bool) -> list[Processor]:
    import structlog

    if json:
        return [structlog.processors.JSONRenderer()]
    return [_escape_for_terminal, structlog.dev.ConsoleRenderer()]


def _shared() -> list[Processor]:
    import structlog

    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


class _Formatter(logging.Formatter):
    """structlog's ProcessorFormatter, built (and structlog imported) at the first record."""

    def __init__(self, json: bool) -> None:
        super().__init__()
        self._json = json
        self._inner: logging.Formatter | None = None

    def format(self, record: logging.LogRecord) -> str:
        if self._inner is None:
            import structlog

            self._inner = structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=[*_shared(), structlog.stdlib.add_logger_name],
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    _redact,
                    *_renderers(self._json),
                ],
            )
        return self._inner.format(record)


def _route_standard_logging(threshold: int, json: bool) -> None:
    """Render standard-library records like structlog's: one handler on the root logger."""
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(_Formatter(json))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)  # configured again (tests, or a command after the group)
    root.addHandler(handler)
    root.setLevel(max(threshold, logging.WARNING))
    logging.getLogger("watcher").setLevel(threshold)


def _escape_for_terminal(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    """Console lines carry registry text (errors, tags): spell out its control characters.
    JSON lines need nothing: JSON escapes them."""
    for key, value in event.items():
        if isinstance(value, str) and key not in _OWN_TEXT:
            event[key] = printable(value)
    return event
