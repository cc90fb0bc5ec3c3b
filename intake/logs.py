"""structlog set-up: JSON lines in production, a readable console in a terminal.

Per-message context (``message_id``, ``uid``) is bound with
``structlog.contextvars.bound_contextvars`` by the worker, so every line logged
while a message is processed carries it without threading it through calls.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure(log_format: str = "auto", level: int = logging.INFO) -> None:
    as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "intake") -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)
