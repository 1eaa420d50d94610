"""A stdlib logging record as the JSON object the worker maps onto otel_logs columns."""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime
from types import TracebackType

import orjson

# Every attribute a plain LogRecord has: whatever else is on a record came in through `extra`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
# The keys this layout writes itself; they are the worker's preferred alias of each column
# (pipeline/parsing/fields.py), so an `extra` field with a lesser alias stays an attribute.
_OWN = frozenset(
    {
        "timestamp",
        "level",
        "message",
        "logger",
        "service",
        "host",
        "code",
        "process",
        "thread",
        "exception",
    }
)


def encode(record: logging.LogRecord, service: str, host: str) -> bytes:
    """One JSON object: time, level, logger, message, code, process, thread, exception, extra."""
    code: dict[str, object] = {
        "namespace": record.module,
        "function": record.funcName,
        "lineno": record.lineno,
        "filepath": record.pathname,
    }
    if record.stack_info:
        code["stacktrace"] = record.stack_info
    event: dict[str, object] = {
        "timestamp": datetime.fromtimestamp(record.created, UTC)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z"),
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
        "service": service,
        "host": host,
        "code": code,
        "process": {"pid": record.process, "name": record.processName},
        "thread": {"id": record.thread, "name": record.threadName},
    }
    kind, value, tb = record.exc_info or (None, None, None)
    if kind is not None and value is not None:
        event["exception"] = exception(kind, value, tb)
    for key, value in record.__dict__.items():
        if key not in _STANDARD:
            event[f"extra.{key}" if key in _OWN else key] = value
    return orjson.dumps(event, default=str, option=orjson.OPT_NON_STR_KEYS)


def exception(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> dict[str, str]:
    """OpenTelemetry's exception.type (qualified), exception.message and exception.stacktrace."""
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    return {
        "type": name,
        "message": str(value),
        "stacktrace": "".join(traceback.format_exception(kind, value, tb)).rstrip(),
    }
