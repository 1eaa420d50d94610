"""OTLP log records, as the HTTP intake publishes them: one JSON object per record, keyed by
the otel_logs column each value goes to, every value already in that column's form.

    {"otlp":1,"Timestamp":1704164645123456789,"ObservedTimestamp":0,
     "TraceId":"4bf9…","SpanId":"00f0…","TraceFlags":1,"SeverityText":"Info",
     "SeverityNumber":9,"Body":"text","ResourceSchemaUrl":"","ResourceAttributes":{…},
     "ScopeSchemaUrl":"","ScopeName":"","ScopeVersion":"","ScopeAttributes":{…},
     "LogAttributes":{…},"EventName":""}

A format of its own rather than the generic JSON one: that one reads key aliases (an attribute
named `message` or `level` would become the body or severity), flattens nested keys, snaps
severity numbers to the first of their range and has no place for resource or scope fields.
Here every field lands in its column unchanged (`OtelFields`), as the OpenTelemetry collector's
ClickHouse exporter stores it; `pipeline.intake.otlp` turns OTLP's AnyValues into these strings.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

import orjson

from pipeline.parsing import fields, severity
from pipeline.parsing.registry import Claim, Prefix
from schemas.records import LogRecord, OtelFields, Severity

NAME = "otlp"
# Shape version: the first key, so that detection knows the line by its first bytes.
VERSION = 1
PREFIX = b'{"otlp":1,'
# Before the generic JSON format (rank 10), and only for lines that start like this shape.
DETECT = (Claim(b"{", rank=5, guard=Prefix(PREFIX)),)

_STRINGS = (
    "TraceId",
    "SpanId",
    "SeverityText",
    "Body",
    "ResourceSchemaUrl",
    "ScopeSchemaUrl",
    "ScopeName",
    "ScopeVersion",
    "EventName",
)
_NUMBERS = ("Timestamp", "ObservedTimestamp", "TraceFlags", "SeverityNumber")
_MAPS = ("ResourceAttributes", "ScopeAttributes", "LogAttributes")


def parse(line: bytes) -> LogRecord | None:
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if type(event) is not dict or event.get("otlp") != VERSION or not _well_formed(event):
        return None
    number: int = event["SeverityNumber"]
    resource: dict[str, str] = event["ResourceAttributes"]
    attributes: dict[str, str] = event["LogAttributes"]
    record = LogRecord(
        body=event["Body"],
        format=NAME,
        # The exporter's rule: a record without a time is stored at its observed time.
        timestamp_ns=event["Timestamp"] or event["ObservedTimestamp"],
        # Retention and alerts work on the range; the row keeps the exact number (OtelFields).
        severity=_range_of(number) if number else severity.from_level(event["SeverityText"]),
        level=event["SeverityText"],
        service=resource.get("service.name", ""),
        host=resource.get("host.name", ""),
        logger=event["ScopeName"],
        trace_id=event["TraceId"],
        span_id=event["SpanId"],
        trace_flags=event["TraceFlags"],
        attributes=attributes,
        otel=OtelFields(
            severity_number=number,
            severity_text=event["SeverityText"],
            resource_attributes=resource,
            resource_schema_url=event["ResourceSchemaUrl"],
            scope_version=event["ScopeVersion"],
            scope_attributes=event["ScopeAttributes"],
            scope_schema_url=event["ScopeSchemaUrl"],
            event_name=event["EventName"],
        ),
    )
    # The same cap as every other format: one hostile record cannot blow up a row.
    if len(attributes) > fields.MAX_ATTRIBUTES:
        record.attributes = dict(islice(attributes.items(), fields.MAX_ATTRIBUTES))
        record.flags.append("attributes_capped")
    return record


def _well_formed(event: dict[str, Any]) -> bool:
    """Every key there with its column's type: a line of another shape is not this format."""
    for key in _STRINGS:
        if type(event.get(key)) is not str:
            return False
    for key in _NUMBERS:
        value = event.get(key)
        if type(value) is not int or value < 0:
            return False
    if event["TraceFlags"] > 0xFF or event["SeverityNumber"] > 24:
        return False
    for key in _MAPS:
        value = event.get(key)
        if type(value) is not dict or not all(type(v) is str for v in value.values()):
            return False
    return True


def _range_of(number: int) -> Severity:
    """The Severity whose range holds an OTel SeverityNumber 1–24 (INFO2 → INFO)."""
    return Severity((number - 1) // 4 * 4 + 1)
