"""The sink's C-encoded inserts (pipeline/sink/native.py) through the real ClickHouse: values at
the edges of each type come back as written, and a row ClickHouse refuses is still isolated."""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

from pipeline.bench.corpus import build
from pipeline.clickhouse import connect
from pipeline.ingest.columnar import prepare_step
from pipeline.ingest.ingestor import Ingestor
from pipeline.ingest.message import Message
from pipeline.settings import Settings
from pipeline.sink import ClickHouseSink, log_row
from pipeline.sink.tables import LOG_COLUMNS, LOGS_TABLE, TABLE_COLUMNS, TableRows
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
        "SELECT toUnixTimestamp64Nano(Timestamp), toUnixTimestamp(TimestampTime), Body, "
        "ServiceName, TraceFlags, LogAttributes, IngestFlags, SeverityNumber "
        "FROM otel_logs ORDER BY KafkaOffset"
    ).result_rows
    assert stored == [
        (
            r.timestamp_ns,
            r.timestamp_ns // 1_000_000_000,  # the column's DEFAULT: the sink leaves it out
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


def test_a_batch_encoded_in_parts_is_stored_once_through_a_lost_acknowledgement(
    pipeline_settings: Settings, clickhouse
):
    """The columnar step encodes a batch a part at a time; the sink sends the blocks as one
    insert. ClickHouse stores it as the columns say, feeds the views once, and drops the retry
    of an insert whose acknowledgement was lost (its deduplication token)."""
    lose = {"otel_logs": 1}  # acknowledgements to lose, by table

    def client() -> Client:
        real = connect(pipeline_settings, inserts=True)
        send = real.raw_insert

        def raw_insert(table: str, *args: Any, **kwargs: Any) -> Any:
            answer = send(table, *args, **kwargs)
            name = table.strip("`")  # as the insert context quotes it
            if lose.get(name):
                lose[name] -= 1
                raise OperationalError("Error executing HTTP request: connection reset by peer")
            return answer

        real.raw_insert = raw_insert  # type: ignore[method-assign]
        return real

    sink = ClickHouseSink(client, pipeline_settings)
    ingestor = Ingestor(pipeline_settings)
    step = prepare_step(
        pipeline_settings, ingestor, partial(sink.row_layout, LOGS_TABLE), part_bytes=16384
    )
    records = build("single", 3000).records(TOPIC, int(time.time() * 1000))
    offsets = FakePartitions({r.offset: r.timestamp for r in records})
    sink.forget_progress([(TOPIC, 0)])
    batches = []
    # The first batch is encoded by the sink (it has not asked for the column types yet); the
    # second by the step, in parts, and its insert's first acknowledgement is lost.
    for part in (records[:100], records[100:]):
        batch = step(part)
        assert (batch.log_rows.encoded is None) == (not batches)
        result = asyncio.run(sink.write(batch.log_rows, batch.dead_letters, offsets))
        assert result.stored == len(batch.log_rows)
        batches.append(batch)
    encoded = batches[1].log_rows.encoded
    assert encoded is not None and len(encoded.blocks) > 10
    assert lose == {"otel_logs": 0}
    shown = ("KafkaOffset", "KafkaEventIndex", "Body", "LogAttributes", "Template", "LogFormat")
    at = [LOG_COLUMNS.index(name) for name in shown]
    expected = sorted(tuple(row[i] for i in at) for b in batches for row in b.log_rows.rows())
    stored = clickhouse.query(
        f"SELECT {', '.join(shown)} FROM otel_logs ORDER BY KafkaOffset, KafkaEventIndex"
    ).result_rows
    assert len(stored) == len(expected) == 3000 - sum(len(b.dead_letters) for b in batches)
    assert stored == expected
    # A materialized view saw each row once: per-minute counts add up to the rows.
    [(counted,)] = clickhouse.query("SELECT sum(Count) FROM log_minute_counts").result_rows
    assert counted == len(expected)
