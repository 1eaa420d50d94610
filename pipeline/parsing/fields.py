"""Key/value events (JSON, logfmt) to LogRecords: well-known key aliases become record fields."""

from __future__ import annotations

from itertools import islice

import orjson

from pipeline.parsing import severity, timestamps
from pipeline.parsing.registry import Parsed
from schemas.records import LogRecord, Severity

# Each list is in order of preference: with both "timestamp" and "time", "timestamp" wins and
# "time" stays an attribute.
TIME_KEYS = ("timestamp", "@timestamp", "ts", "time", "datetime", "date", "t")
LEVEL_KEYS = ("level", "severity", "lvl", "levelname", "log.level", "severity_text", "loglevel")
MESSAGE_KEYS = ("message", "msg", "log", "body", "text", "event")
SERVICE_KEYS = ("service", "service.name", "service_name", "serviceName", "app", "application")
HOST_KEYS = ("host", "hostname", "host.name", "host_name")
LOGGER_KEYS = ("logger", "logger_name", "loggerName", "logger.name", "name", "component")
TRACE_KEYS = ("trace_id", "traceId", "trace.id", "traceid", "dd.trace_id")
SPAN_KEYS = ("span_id", "spanId", "span.id", "spanid", "dd.span_id")

# key → (field, rank), fields in the order to_record unpacks them: one dict lookup per key
# instead of probing every alias list.
_ROLES: dict[str, tuple[int, int]] = {
    key: (field, rank)
    for field, keys in enumerate(
        (
            TIME_KEYS,
            LEVEL_KEYS,
            MESSAGE_KEYS,
            SERVICE_KEYS,
            HOST_KEYS,
            LOGGER_KEYS,
            TRACE_KEYS,
            SPAN_KEYS,
        )
    )
    for rank, key in enumerate(keys)
}

# Attribute keys and values are capped so one hostile object cannot blow up a row.
MAX_ATTRIBUTES = 256


def to_record(items: dict[str, object], fmt: str, line: bytes) -> LogRecord:
    """A record from flat key/values; with no message key the whole line is the body."""
    ts, sev, level, service, host, logger, trace, span, body, attributes, flags = to_fields(
        items, line
    )
    return LogRecord(
        body=body,
        format=fmt,
        timestamp_ns=ts,
        severity=sev,
        level=level,
        service=service,
        host=host,
        logger=logger,
        trace_id=trace,
        span_id=span,
        attributes=attributes,
        flags=flags,
    )


def to_fields(items: dict[str, object], line: bytes) -> Parsed:
    """`to_record`'s fields as a tuple (see registry.Parsed): the columnar path builds no
    record."""
    values: list[object] = [None] * 8
    ranks = [len(_ROLES)] * 8
    keys = [""] * 8
    attributes: dict[str, str] = {}
    roles = _ROLES
    for key, value in items.items():
        role = roles.get(key)
        if role is not None and value is not None:
            field, rank = role
            if rank < ranks[field]:
                if keys[field]:  # a less preferred alias came first: it stays an attribute
                    attributes[keys[field]] = text(values[field])
                values[field], ranks[field], keys[field] = value, rank, key
                continue
        attributes[key] = value if type(value) is str else text(value)
    time, level, message, service, host, logger, trace, span = values
    flags: list[str] = []
    ns = 0
    if time is not None:
        ns = timestamps.from_any(time) or 0
        if ns == 0:
            attributes["time_unparsed"] = text(time)
    if len(attributes) > MAX_ATTRIBUTES:
        attributes = dict(islice(attributes.items(), MAX_ATTRIBUTES))
        flags.append("attributes_capped")
    # Inline type checks instead of calling text(): this runs for every field of every line.
    return (
        ns,
        Severity.UNSPECIFIED
        if level is None
        else severity.from_level(level if isinstance(level, str | int | float) else None),
        level if type(level) is str else text(level),
        service if type(service) is str else text(service),
        host if type(host) is str else text(host),
        logger if type(logger) is str else text(logger),
        trace if type(trace) is str else text(trace),
        span if type(span) is str else text(span),
        line.decode("utf-8", "replace")
        if message is None
        else message
        if type(message) is str
        else text(message),
        attributes,
        flags,
    )


def text(value: object) -> str:
    """A value as attribute text: strings as they are, numbers as written, the rest as JSON."""
    # Exact-type checks first (None, str, int, float are nearly every value and `type() is` is
    # cheaper than isinstance); bool is tested by type too, as it is a subclass of int.
    kind = type(value)
    if value is None:
        return ""
    if kind is str:
        return value  # type: ignore[return-value]
    if kind is int or kind is float:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int | float):  # bool cannot be subclassed: it was handled above
        return str(value)
    return orjson.dumps(value).decode()


# The columnar step's form of this module (pipeline/parsing/_fields.c): `to_fields`, and
# JSON's group form `json_group` (orjson, flatten, to_fields), in C with no Python frame per
# line, key or value. The tables and the rules for uncommon values (`timestamps.from_any`,
# `severity.from_level`, `text`) are this module's, handed over here once; the Python
# functions above stay the record path's and the reference the C results are tested against.
try:
    from pipeline.parsing import _fields as compiled
except ImportError as exc:  # pragma: no cover - a checkout that skipped the build
    raise ImportError(
        f"logweir's C module is not built ({exc}): run `make setup` or `pip install -e .`"
    ) from exc

compiled.configure(
    roles=_ROLES,
    level_words=severity.WORDS,
    from_any=timestamps.from_any,
    from_level=severity.from_level,
    text=text,
    loads=orjson.loads,
    decode_error=orjson.JSONDecodeError,
    unspecified=Severity.UNSPECIFIED,
    max_attributes=MAX_ATTRIBUTES,
)
