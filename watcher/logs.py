"""Logging, configured in one place: JSON lines when not on a terminal, console lines on one."""

from __future__ import annotations

import logging
import sys

import structlog
from structlog.typing import EventDict, WrappedLogger

from watcher.terminal import printable

# Multi-line text watcher itself formats (tracebacks), kept as it is.
_OWN_TEXT = frozenset({"exception", "stack"})


def configure_logging(level: str = "warning", *, json: bool | None = None) -> None:
    """Log to standard error; ``json=None`` picks JSON unless standard error is a terminal."""
    if json is None:
        json = not sys.stderr.isatty()
    renderers: list[structlog.typing.Processor] = (
        [structlog.processors.JSONRenderer()]
        if json
        else [_escape_for_terminal, structlog.dev.ConsoleRenderer()]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            *renderers,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def _escape_for_terminal(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    """Console lines carry registry text (errors, tags): spell out its control characters.
    JSON lines need nothing: JSON escapes them."""
    for key, value in event.items():
        if isinstance(value, str) and key not in _OWN_TEXT:
            event[key] = printable(value)
    return event
