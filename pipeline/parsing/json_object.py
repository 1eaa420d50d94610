"""JSON objects: the common key aliases become LogRecord fields, the rest dotted attributes."""

from __future__ import annotations

import orjson

from pipeline import severity, timestamps
from schemas.records import LogRecord

TIME_KEYS = ("timestamp", "@timestamp", "ts", "time", "datetime", "date", "t")
LEVEL_KEYS = ("level", "severity", "lvl", "levelname", "log.level", "severity_text", "loglevel")
MESSAGE_KEYS = ("message", "msg", "log", "body", "text", "event")
SERVICE_KEYS = ("service", "service.name", "service_name", "serviceName", "app", "application")
HOST_KEYS = ("host", "hostname", "host.name", "host_name")
LOGGER_KEYS = ("logger", "logger_name", "loggerName", "logger.name", "name", "component")
TRACE_KEYS = ("trace_id", "traceId", "trace.id", "traceid", "dd.trace_id")
SPAN_KEYS = ("span_id", "spanId", "span.id", "spanid", "dd.span_id")

# Attribute keys and values are capped so one hostile object cannot blow up a row.
MAX_ATTRIBUTES = 256


def parse(line: bytes) -> LogRecord | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    flat = flatten(obj)
    message = _take(flat, MESSAGE_KEYS)
    level = _take(flat, LEVEL_KEYS)
    ts_raw = _take(flat, TIME_KEYS)
    record = LogRecord(
        body=_text(message) if message is not None else line.decode("utf-8", "replace"),
        format="json",
        timestamp_ns=(timestamps.from_any(ts_raw) or 0) if ts_raw is not None else 0,
        severity=severity.from_level(level if isinstance(level, str | int | float) else None),
        level=_text(level) if level is not None else "",
        service=_text(_take(flat, SERVICE_KEYS) or ""),
        host=_text(_take(flat, HOST_KEYS) or ""),
        logger=_text(_take(flat, LOGGER_KEYS) or ""),
        trace_id=_text(_take(flat, TRACE_KEYS) or ""),
        span_id=_text(_take(flat, SPAN_KEYS) or ""),
    )
    if ts_raw is not None and record.timestamp_ns == 0:
        flat["time_unparsed"] = ts_raw
    record.attributes = {k: _text(v) for k, v in list(flat.items())[:MAX_ATTRIBUTES]}
    if len(flat) > MAX_ATTRIBUTES:
        record.flags.append("attributes_capped")
    return record


def flatten(obj: dict[str, object]) -> dict[str, object]:
    """Nested objects become dotted keys ({"a": {"b": 1}} → {"a.b": 1}); lists stay values."""
    out: dict[str, object] = {}
    stack: list[tuple[str, dict[str, object]]] = [("", obj)]
    while stack:
        prefix, current = stack.pop()
        for key, value in current.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict) and value:
                stack.append((f"{name}.", value))
            else:
                out[name] = value
    return out


def _take(flat: dict[str, object], keys: tuple[str, ...]) -> object | None:
    for key in keys:
        if key in flat:
            value = flat.pop(key)
            if value is not None:
                return value
    return None


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()
