"""JSON-lines logs (structlog) carrying service, correlation id, event id and type, and
trace_id / span_id when tracing is on.

Context is bound with contextvars, so whatever runs inside a request or a consumed
message logs with its ids without passing a logger around.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, clear_contextvars

from sangsaeng_common.tracing import add_trace_ids

__all__ = ["configure_logging", "get_logger", "bind_contextvars", "bound_contextvars", "clear_contextvars"]


def configure_logging(service: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """JSON lines on `stream` (default stdout, where a service's logs go; a command whose stdout
    is its answer — replay, republish, dlq — logs to stderr)."""
    stream = stream or sys.stdout
    shared = [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("message"),
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    # Libraries (uvicorn, aiokafka, asyncpg) log through stdlib: render them as JSON too.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.EventRenamer("message"),
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs requests
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
