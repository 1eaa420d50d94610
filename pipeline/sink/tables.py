"""The two tables the sink writes, their columns, and the row builders.

A row is a tuple in the order of its table's row columns, built once per event while the
record is fresh (the record path's prepare step); the columnar step makes the same values as
columns and no row (`log_columns`, `TableRows`). The sink adds one more column at write time,
`KafkaIncarnation`, because which incarnation of a partition an offset belongs to is known only
once the stored progress has been checked against the broker (see `progress`).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import TYPE_CHECKING

from pipeline.ingest.message import Message
from schemas.records import SEVERITY_TEXT, DeadLetter, LogColumns, LogRecord, OtelFields

if TYPE_CHECKING:
    from pipeline.sink.native import Encoded

LOGS_TABLE = "otel_logs"
DEADLETTER_TABLE = "logs_deadletter"

# Written by the sink beside each row's own columns (see the module docstring).
INCARNATION_COLUMN = "KafkaIncarnation"

# TimestampTime is left to its DEFAULT, toDateTime(Timestamp), as the OpenTelemetry exporter
# leaves it: made here, it was an int object a row and a Python pass over the batch.
LOG_COLUMNS = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "TraceFlags",
    "SeverityText",
    "SeverityNumber",
    "ServiceName",
    "Body",
    "ResourceAttributes",
    "ScopeName",
    "LogAttributes",
    "ResourceSchemaUrl",
    "ScopeVersion",
    "ScopeAttributes",
    "ScopeSchemaUrl",
    "EventName",
    "LogFormat",
    "TemplateId",
    "Template",
    "IngestFlags",
    "KafkaTopic",
    "KafkaPartition",
    "KafkaOffset",
    "KafkaEventIndex",
    "KafkaTimestamp",
)
DEADLETTER_COLUMNS = (
    "MessageTimestamp",
    "Reason",
    "Detail",
    "Raw",
    "RawBytes",
    "KafkaTopic",
    "KafkaPartition",
    "KafkaOffset",
    "KafkaEventIndex",
)
# A dead letter keeps at most this much of the raw input; RawBytes has the full size.
MAX_DEADLETTER_RAW = 1024 * 1024

TABLE_COLUMNS = {LOGS_TABLE: LOG_COLUMNS, DEADLETTER_TABLE: DEADLETTER_COLUMNS}

# A row of otel_logs or logs_deadletter, in the order of LOG_COLUMNS or DEADLETTER_COLUMNS.
Row = tuple[object, ...]


class Coordinates:
    """Where a table's rows keep their Kafka topic, partition, offset and the message's Kafka
    timestamp (the witness that tells one incarnation's record at an offset from another's)."""

    __slots__ = ("topic", "partition", "offset", "timestamp")

    def __init__(self, columns: tuple[str, ...], timestamp_column: str) -> None:
        self.topic = columns.index("KafkaTopic")
        self.partition = columns.index("KafkaPartition")
        self.offset = columns.index("KafkaOffset")
        self.timestamp = columns.index(timestamp_column)


COORDINATES = {
    LOGS_TABLE: Coordinates(LOG_COLUMNS, "KafkaTimestamp"),
    DEADLETTER_TABLE: Coordinates(DEADLETTER_COLUMNS, "MessageTimestamp"),
}


def log_row(record: LogRecord, message: Message, index: int = 0) -> Row:
    otel = record.otel
    if otel is None:
        resource = _resource(record.service, record.host)
        severity = int(record.severity)
        severity_text = SEVERITY_TEXT[severity]
        otel = _NO_OTEL_FIELDS
    else:
        resource, severity, severity_text = _otel_resource_severity(
            otel, record.service, record.host, record.severity
        )
    return (
        record.timestamp_ns,
        record.trace_id,
        record.span_id,
        record.trace_flags,
        severity_text,
        severity,
        record.service,
        record.body,
        resource,
        record.logger,
        record.attributes,
        otel.resource_schema_url,
        otel.scope_version,
        otel.scope_attributes,
        otel.scope_schema_url,
        otel.event_name,
        record.format,
        record.template_id,
        record.template,
        record.flags,
        message.topic,
        message.partition,
        message.offset,
        index,
        message.timestamp_ms,
    )


def _resource(service: str, host: str) -> dict[str, str]:
    return {"service.name": service, "host.name": host} if host else {"service.name": service}


def log_columns(
    rows: LogColumns, kafka: tuple[list[str], list[int], list[int], list[int]]
) -> TableRows:
    """`log_row` of every row of the columns, as otel_logs columns (no row is made: the sink
    inserts columns); `kafka` holds columns of each row's topic, partition, offset and event
    index (its Kafka timestamp is in `rows`)."""
    times, services, hosts = rows.timestamp_ns, rows.service, rows.host
    count = len(times)
    # Exact ints (int() costs twice as much).
    severities = list(map(operator.index, rows.severity))
    # One resource map per (service, host) of the batch, shared by its rows (only read from
    # here on; an OTLP row gets a map of its own below); looked up in C loops (a Python loop
    # was 2% of a worker's time).
    made = {pair: _resource(*pair) for pair in set(zip(services, hosts, strict=True))}
    resources = list(map(made.__getitem__, zip(services, hosts, strict=True)))
    no_otel = _NO_OTEL_FIELDS
    texts = list(map(SEVERITY_TEXT.__getitem__, severities))
    topics, partitions, offsets, indices = kafka
    # The columns an OTLP row sets values of its own in (below).
    otel_columns: list[list[object]] = [
        [no_otel.resource_schema_url] * count,
        [no_otel.scope_version] * count,
        [no_otel.scope_attributes] * count,
        [no_otel.scope_schema_url] * count,
        [no_otel.event_name] * count,
    ]
    columns: list[Sequence[object]] = [
        times,
        rows.trace_id,
        rows.span_id,
        rows.trace_flags,
        texts,
        severities,
        services,
        rows.body,
        resources,
        rows.logger,
        rows.attributes,
        *otel_columns,
        rows.format,
        rows.template_id,
        rows.template,
        rows.flags,
        topics,
        partitions,
        offsets,
        indices,
        rows.kafka_ms,
    ]
    otlp_rows = count - rows.otel.count(None)
    for i, otel in enumerate(rows.otel if otlp_rows else ()):  # OTLP input: a row at a time
        if otel is None:
            continue
        resource, severity, severity_text = _otel_resource_severity(
            otel, services[i], hosts[i], rows.severity[i]
        )
        texts[i], severities[i], resources[i] = severity_text, severity, resource
        for column, value in zip(
            otel_columns,
            (
                otel.resource_schema_url,
                otel.scope_version,
                otel.scope_attributes,
                otel.scope_schema_url,
                otel.event_name,
            ),
            strict=True,
        ):
            column[i] = value
    short = [name for name, c in zip(LOG_COLUMNS, columns, strict=True) if len(c) != count]
    if short:  # a bug in a column form; the columnar step then takes the record path
        raise ValueError(f"columns without a value for each of the {count} rows: {short}")
    return TableRows.of_columns(columns)


class TableRows:
    """A table's rows in the form their maker made them: row tuples (record by record) or
    columns (the columnar step, which makes no row). The sink inserts columns; the rare paths
    that pick rows out (a replay's filter, bisection, a row the server refused) read rows.
    Each form is made from the other once, when first asked for, by zip (in C). The columnar
    step hands over its columns in parts (runs of rows in order, each with columns of its own:
    joining them would touch every value again) and encoded for the insert (`encoded`, see
    native.py)."""

    __slots__ = ("_rows", "_parts", "encoded")

    def __init__(self, rows: list[Row] | None = None) -> None:
        self._rows: list[Row] | None = [] if rows is None else rows
        self._parts: list[list[Sequence[object]]] | None = None
        self.encoded: Encoded | None = None

    @classmethod
    def of_columns(
        cls, *parts: list[Sequence[object]], encoded: Encoded | None = None
    ) -> TableRows:
        """Rows held as columns of one length each (a row's values at one index), in one part
        or several, and `encoded`, when given, the same rows as Native blocks."""
        made = cls()
        made._rows, made._parts, made.encoded = None, list(parts), encoded
        return made

    def append(self, row: Row) -> None:
        """One more row (record by record, before any column is read)."""
        assert self._rows is not None and self._parts is None, "columns were made already"
        self._rows.append(row)

    def rows(self) -> list[Row]:
        if self._rows is None:
            assert self._parts is not None
            self._rows = [row for part in self._parts for row in zip(*part, strict=True)]
        return self._rows

    def columns(self) -> list[Sequence[object]]:
        """One sequence per column; none when there are no rows."""
        if self._parts is None:
            assert self._rows is not None
            self._parts = [list(zip(*self._rows, strict=True))]
        elif len(self._parts) > 1:
            self._parts = [[list(chain(*column)) for column in zip(*self._parts, strict=True)]]
        return self._parts[0] if self._parts else []

    def column(self, index: int) -> Iterable[object]:
        """One column's values in row order (the parts' in turn, not joined)."""
        if self._parts is None:
            return self.columns()[index] if len(self) else ()
        return chain.from_iterable(part[index] for part in self._parts if part)

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        assert self._parts is not None
        return sum(len(part[0]) for part in self._parts if part)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows())

    def __getitem__(self, index: int) -> Row:
        return self.rows()[index]


def _otel_resource_severity(
    otel: OtelFields, service: str, host: str, severity: int
) -> tuple[dict[str, str], int, str]:
    # OTLP input: the resource as sent, the service and host enrichment found added only
    # when it had none; the producer's own severity number and text.
    resource = otel.resource_attributes
    if service and "service.name" not in resource:
        resource = {**resource, "service.name": service}
    if host and "host.name" not in resource:
        resource = {**resource, "host.name": host}
    return resource, otel.severity_number or int(severity), otel.severity_text


# The OTel-only columns of a record from any other format: empty, as the exporter leaves them.
_NO_OTEL_FIELDS = OtelFields()


def deadletter_row(dead: DeadLetter, index: int = 0) -> Row:
    return (
        dead.timestamp_ms,
        dead.reason,
        dead.detail,
        dead.raw[:MAX_DEADLETTER_RAW],
        len(dead.raw),
        dead.topic,
        dead.partition,
        dead.offset,
        index,
    )
