"""Enrichers: each fills or fixes one aspect of a parsed record from its Kafka context."""

from __future__ import annotations

from pipeline import templates
from pipeline.message import Message
from schemas.records import LogRecord

UNKNOWN_SERVICE = "unknown"


def fill_time(record: LogRecord, message: Message) -> None:
    """A record with no readable time takes the Kafka message time, and says so."""
    if record.timestamp_ns <= 0:
        record.timestamp_ns = message.timestamp_ms * 1_000_000
        record.flags.append("time_missing")


def fill_service(record: LogRecord, message: Message) -> None:
    """Service from the record, else the `service` header, the key, or `<raw topic>.<service>`."""
    if record.service:
        return
    header = message.headers.get("service")
    if header:
        record.service = header.decode("utf-8", "replace")
    elif message.key:
        record.service = message.key.decode("utf-8", "replace")
    elif message.topic_suffix:
        record.service = message.topic_suffix
    else:
        record.service = UNKNOWN_SERVICE


def truncate_body(record: LogRecord, max_bytes: int) -> None:
    """Cut a body longer than max_bytes (UTF-8) at a character boundary, flagged with its size."""
    # len(str) <= len(bytes): only strings that could be too long pay for the encode.
    if len(record.body) * 4 <= max_bytes:
        return
    encoded = record.body.encode("utf-8", "replace")
    if len(encoded) <= max_bytes:
        return
    record.body = encoded[:max_bytes].decode("utf-8", "ignore")
    record.flags.append("truncated")
    record.attributes["logweir.original_bytes"] = str(len(encoded))


def fill_template(record: LogRecord) -> None:
    record.template_id, record.template = templates.template_of(record.body)
