"""The sink's C-encoded inserts (pipeline/sink/native.py) through the real ClickHouse: values at
the edges of each type come back as written, and a row ClickHouse refuses is still isolated."""

from __future__ import annotations

import asyncio
import time

import pytest

from pipeline.clickhouse import connect
from pipeline.ingest.message import Message
from pipeline.settings import Settings
from pipeline.sink import ClickHouseSink, log_row
from pipeline.sink.tables import TABLE_COLUMNS, TableRows
from pipeline.sink.testing import COLUMN_TYPES, FakePartitions
from schemas.records import DeadLetter, LogRecord, Severity

pytestmark = pytest.mark.integration

TOPIC = "logs.raw"


def test_the_sink_test_double_knows_the_servers_column_types(clickhouse):
    for table, columns in TABLE_COLUMNS.items():
        served = dict(
            clickhouse.query(
                "SELECT name, type FROM system.columns "
                "WHERE database = currentDatabase() AND table = {table:String}",
                parameters={"table": table},
            ).result_rows
        )
        for name in (*columns, "KafkaIncarnation"):
            assert COLUMN_TYPES[name] == served[name], (table, name)


def test_values_at_the_edges_of_each_type_are_stored_as_written(
    pipeline_settings: Settings, clickhouse
):
    records = []
    now_ns = time.time_ns() // 1000 * 1000 + 789
    for i in range(300):  # 300 services and attribute keys: a dictionary index wider than a byte
        record = LogRecord(
            body=["", "é☃ 日本語", "x" * 70_000, "line\twith\\escapes"][i % 4],
            format="text",
            timestamp_ns=now_ns + i,  # recent: older rows fall to the retention TTL
            severity=Severity.ERROR,
            service=f"service-{i}",
            trace_flags=255 if i == 1 else 0,
        )
        record.attributes.update({f"key.{i}": "ü" * (i % 3)} if i % 2 else {})
        record.flags.extend(["invalid_utf8", f"flag-{i % 5}"] if i % 3 else [])
        records.append(record)
    rows = [
        log_row(r, Message(TOPIC, 0, o, 1_700_000_000_000 + o, b"x")) for o, r in enumerate(records)
    ]
    letter = DeadLetter(
        reason="invalid_framing",
        detail="d",
        raw=b"\xff\xfe not utf-8",
        topic=TOPIC,
        partition=0,
        offset=len(rows),
        timestamp_ms=1_700_000_000_000,
    )
    sink = ClickHouseSink(lambda: connect(pipeline_settings, inserts=True), pipeline_settings)
    sink.forget_progress([(TOPIC, 0)])
    offsets = FakePartitions({o: 1_700_000_000_000 + o for o in range(len(rows) + 1)})
    result = asyncio.run(
        sink.write(TableRows.of_columns(list(zip(*rows, strict=True))), [(letter, 0)], offsets)
    )
    assert (result.stored, result.dead_lettered) == (len(rows), 1)

    stored = clickhouse.query(
        "SELECT toUnixTimestamp64Nano(Timestamp), Body, ServiceName, TraceFlags, "
        "LogAttributes, IngestFlags, SeverityNumber FROM otel_logs ORDER BY KafkaOffset"
    ).result_rows
    assert stored == [
        (
            r.timestamp_ns,
            r.body,
            r.service,
            r.trace_flags,
            r.attributes,
            r.flags,
            int(r.severity),
        )
        for r in records
    ]
    [(raw, raw_bytes)] = clickhouse.query(
        "SELECT Raw, RawBytes FROM logs_deadletter", column_formats={"Raw": "bytes"}
    ).result_rows
    assert (raw, raw_bytes) == (letter.raw, len(letter.raw))
