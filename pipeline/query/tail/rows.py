"""The rows the tail reads: columns, Row, interleave by time; design: the package docstring."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline.enrich.store import canonical_id

Key = tuple[str, int, int]  # KafkaTopic, KafkaPartition, KafkaIncarnation
MarkKey = tuple[str, int, int, str]  # … and otel_logs's partition (day) of the row
Coordinate = tuple[int, int]  # KafkaOffset, KafkaEventIndex

_COLUMNS = f"""toUnixTimestamp64Nano(Timestamp) AS TimestampNanos, ServiceName, SeverityText,
    SeverityNumber, Body, {canonical_id()} AS CanonicalTemplateId, TraceId, SpanId, LogAttributes,
    KafkaTopic, KafkaPartition, KafkaIncarnation, KafkaOffset, KafkaEventIndex,
    _partition_id AS TablePartition"""


@dataclass(frozen=True, slots=True)
class Row:
    """An otel_logs row as the tail shows it."""

    timestamp_ns: int
    service: str
    severity_text: str
    severity_number: int
    body: str
    template_id: int  # the id the template stands under now (through the canonical map)
    trace_id: str
    span_id: str
    attributes: dict[str, str]
    topic: str
    partition: int
    incarnation: int
    offset: int
    event_index: int
    table_partition: str  # otel_logs's partition (the event's day) holding the row

    @property
    def key(self) -> Key:
        return (self.topic, self.partition, self.incarnation)

    @property
    def mark_key(self) -> MarkKey:
        return (self.topic, self.partition, self.incarnation, self.table_partition)

    @property
    def coordinate(self) -> Coordinate:
        return (self.offset, self.event_index)

    def time_text(self, digits: int = 9) -> str:
        """ISO 8601 UTC with `digits` of the second's fraction: 2026-03-04T05:06:07.123456789Z."""
        seconds, nanos = divmod(self.timestamp_ns, 1_000_000_000)
        base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{base}.{nanos:09d}"[: len(base) + 1 + digits] + "Z"

    def to_json(self) -> dict[str, Any]:
        """The row under otel_logs's column names; the time in ISO 8601 UTC to the nanosecond."""
        return {
            "Timestamp": self.time_text(),
            "ServiceName": self.service,
            "SeverityText": self.severity_text,
            "SeverityNumber": self.severity_number,
            "Body": self.body,
            "TemplateId": self.template_id,
            "TraceId": self.trace_id,
            "SpanId": self.span_id,
            "LogAttributes": self.attributes,
            "KafkaTopic": self.topic,
            "KafkaPartition": self.partition,
            "KafkaIncarnation": self.incarnation,
            "KafkaOffset": self.offset,
            "KafkaEventIndex": self.event_index,
        }


def _row(values: Sequence[Any]) -> Row:
    return Row(
        int(values[0]),
        values[1],
        values[2],
        int(values[3]),
        values[4],
        int(values[5]),
        values[6],
        values[7],
        dict(values[8]),
        values[9],
        int(values[10]),
        int(values[11]),
        int(values[12]),
        int(values[13]),
        values[14],
    )


def interleave(rows: Sequence[Row]) -> list[Row]:
    """Rows sorted by (partition, coordinate) → by event time across partitions, each
    partition's rows kept in their order (a late event stays where its offset puts it)."""
    runs: dict[Key, list[Row]] = {}
    for row in rows:
        runs.setdefault(row.key, []).append(row)
    return list(heapq.merge(*runs.values(), key=lambda r: r.timestamp_ns))
