"""LogRecord (one parsed log event), LogColumns (many, as columns) and DeadLetter (an input that
could not become one)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from enum import IntEnum

from pydantic import BaseModel, ConfigDict, field_serializer


class Severity(IntEnum):
    """OpenTelemetry SeverityNumber: the first number of each range (TRACE=1 … FATAL=21)."""

    UNSPECIFIED = 0
    TRACE = 1
    DEBUG = 5
    INFO = 9
    WARN = 13
    ERROR = 17
    FATAL = 21

    @property
    def text(self) -> str:
        return SEVERITY_TEXT[self]


# Looked up once per stored row: a plain dict beats the enum's name property several times over.
SEVERITY_TEXT: dict[int, str] = {s.value: ("" if s.value == 0 else s.name) for s in Severity}


@dataclass(slots=True)
class OtelFields:
    """What only OTLP input carries (pipeline/parsing/otlp.py), stored in its otel_logs column
    as sent: the OTel ClickHouse exporter's row for the same record, column for column."""

    # Exact, 1–24 (record.severity holds the first number of its range, for retention and
    # alerts), and the producer's own text, even empty.
    severity_number: int = 0
    severity_text: str = ""
    resource_attributes: dict[str, str] = field(default_factory=dict)
    resource_schema_url: str = ""
    scope_version: str = ""
    scope_attributes: dict[str, str] = field(default_factory=dict)
    scope_schema_url: str = ""
    event_name: str = ""


# A slots dataclass, not a pydantic model: one is built per log line on the hot path, and
# parsers produce already-typed values, so validation would only cost time (~10x).
@dataclass(slots=True)
class LogRecord:
    """One log event, shaped after the OpenTelemetry log data model."""

    body: str
    format: str
    timestamp_ns: int = 0  # UTC nanoseconds since the epoch; 0 = unknown (filled by enrichment)
    severity: Severity = Severity.UNSPECIFIED
    # The producer's own level word ("warning", "E", "crit"), kept as written.
    level: str = ""
    service: str = ""
    host: str = ""
    logger: str = ""  # OTel scope name: the logger or component that emitted the line
    trace_id: str = ""
    span_id: str = ""
    trace_flags: int = 0
    attributes: dict[str, str] = field(default_factory=dict)
    # The message with its variable parts masked, and a stable id of that text.
    template_id: int = 0
    template: str = ""
    # Why this record is not exactly what was sent (truncated, invalid_utf8, time_missing…).
    flags: list[str] = field(default_factory=list)
    # Set by the otlp format only: the OTel fields other formats do not have.
    otel: OtelFields | None = None


@dataclass(slots=True)
class LogColumns:
    """Many log events as columns, one list per LogRecord field (the columnar prepare step,
    pipeline/ingest/columnar.py), and per row what enrichment reads of its Kafka message."""

    timestamp_ns: list[int] = field(default_factory=list)
    severity: list[Severity] = field(default_factory=list)
    level: list[str] = field(default_factory=list)
    service: list[str] = field(default_factory=list)
    host: list[str] = field(default_factory=list)
    logger: list[str] = field(default_factory=list)
    trace_id: list[str] = field(default_factory=list)
    span_id: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    attributes: list[dict[str, str]] = field(default_factory=list)
    flags: list[list[str]] = field(default_factory=list)
    format: list[str] = field(default_factory=list)
    trace_flags: list[int] = field(default_factory=list)
    otel: list[OtelFields | None] = field(default_factory=list)
    template_id: list[int] = field(default_factory=list)
    template: list[str] = field(default_factory=list)
    # The message's: Kafka timestamp, key, headers, and the service of a `<raw topic>.<service>`
    # topic ("" for others).
    kafka_ms: list[int] = field(default_factory=list)
    key: list[bytes | None] = field(default_factory=list)
    headers: list[dict[str, bytes]] = field(default_factory=list)
    topic_suffix: list[str] = field(default_factory=list)


class DeadLetter(BaseModel):
    """An input that could not be stored as a LogRecord, with the reason and where it came from."""

    model_config = ConfigDict(frozen=True)

    reason: str  # a short stable code: empty, parser_error, clickhouse_rejected, …
    detail: str  # one human line: what exactly went wrong
    raw: bytes
    topic: str
    partition: int
    offset: int
    timestamp_ms: int  # the Kafka message timestamp

    @field_serializer("raw", when_used="json")
    def _raw_as_base64(self, raw: bytes) -> str:
        # Raw input may be any binary; standard base64 is what every consumer can decode.
        return base64.b64encode(raw).decode("ascii")

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()
