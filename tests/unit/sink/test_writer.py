"""The writer's decisions around a ClickHouse client: what it inserts, skips, retries and
bisects, against the sink's own test doubles (pipeline/sink/testing.py)."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.ingest.message import Message
from pipeline.observe.metrics import REGISTRY
from pipeline.settings import Settings
from pipeline.sink import ClickHouseSink, WriteResult, log_row
from pipeline.sink.native import Encoded, NativeLayout
from pipeline.sink.tables import INCARNATION_COLUMN, LOG_COLUMNS, LOGS_TABLE, TableRows
from pipeline.sink.testing import COLUMN_TYPES, FakeClickHouse, FakePartitions
from schemas.records import LogRecord, Severity

TOPIC = "logs.raw"
STORED_UP_TO_9 = [("otel_logs", TOPIC, 0, 0, 9, 1009)]


def _rows(offsets: range, kafka_ms: int = 1000) -> list[tuple[object, ...]]:
    rows = []
    for o in offsets:
        record = LogRecord(body=f"event {o}", format="text", timestamp_ns=1, severity=Severity.INFO)
        rows.append(log_row(record, Message(TOPIC, 0, o, kafka_ms + o, b"x")))
    return rows


# The otel_logs insert's layout, as the sink makes it from the server's column types.
INSERTED = (*LOG_COLUMNS, INCARNATION_COLUMN)
LAYOUT = NativeLayout(INSERTED, [COLUMN_TYPES[c] for c in INSERTED])


def _encoded(rows: list[tuple[object, ...]], size: int = 3) -> TableRows:
    """`rows` as the columnar step hands them over with an encoding: in parts of `size` rows,
    each part's columns and its Native block."""
    parts = [list(zip(*rows[i : i + size], strict=True)) for i in range(0, len(rows), size)]
    blocks = [(LAYOUT.leading.block(part, len(part[0])), len(part[0])) for part in parts]
    assert all(block for block, _ in blocks)
    return TableRows.of_columns(*parts, encoded=Encoded(LAYOUT.leading, blocks))  # type: ignore[arg-type]


def _with(row: tuple[object, ...], column: str, value: object) -> tuple[object, ...]:
    at = LOG_COLUMNS.index(column)
    return (*row[:at], value, *row[at + 1 :])


def _write(
    client: FakeClickHouse, rows, kafka: FakePartitions, as_columns=False, **kw
) -> WriteResult:  # type: ignore[no-untyped-def]
    """`rows` written as the record path hands them over, or as the columnar step does
    (`as_columns`: True, or "encoded" for columns in parts with their blocks)."""
    sink = ClickHouseSink(lambda: client, Settings())  # type: ignore[arg-type, return-value]
    sink.forget_progress([(TOPIC, 0)])
    if as_columns == "encoded":
        table_rows = _encoded(rows)
    elif as_columns:
        table_rows = TableRows.of_columns(list(zip(*rows, strict=True)))
    else:
        table_rows = TableRows(rows)
    return asyncio.run(sink.write(table_rows, [], kafka, **kw))


# The forms a batch's rows come in: row tuples (record path), columns (columnar step), and
# columns in parts encoded already (the columnar step in a worker).
FORMS = pytest.mark.parametrize(
    "as_columns", [False, True, "encoded"], ids=["rows", "columns", "encoded"]
)


def _kafka(offsets: range, kafka_ms: int = 1000) -> FakePartitions:
    return FakePartitions({o: kafka_ms + o for o in offsets})


@FORMS
def test_a_replay_skips_what_is_stored_and_inserts_the_rest_with_its_incarnation(as_columns):
    client = FakeClickHouse(STORED_UP_TO_9)
    result = _write(client, _rows(range(5, 15)), _kafka(range(15)), as_columns)
    assert (result.stored, result.skipped) == (5, 5)
    [insert] = client.inserts
    assert insert.table == "otel_logs" and insert.columns["KafkaOffset"] == [10, 11, 12, 13, 14]
    assert insert.columns[INCARNATION_COLUMN] == [0] * 5
    assert insert.settings["insert_deduplication_token"]
    assert list(insert.columns)[: len(LOG_COLUMNS)] == list(LOG_COLUMNS)
    assert insert.native  # encoded by the sink's C encoder, read back by clickhouse-connect


def test_records_of_a_new_incarnation_at_old_offsets_are_stored_not_skipped():
    client = FakeClickHouse(STORED_UP_TO_9)
    # The broker restarted: offsets 0-4 hold other records (other Kafka timestamps).
    result = _write(client, _rows(range(0, 5), 9000), _kafka(range(5), 9000))
    assert (result.stored, result.skipped, result.reread) == (5, 0, set())
    assert client.rows("otel_logs", INCARNATION_COLUMN) == [1] * 5


def test_a_new_incarnation_found_past_its_start_writes_nothing_and_asks_to_read_again():
    client = FakeClickHouse(STORED_UP_TO_9)
    result = _write(client, _rows(range(10, 20), 9000), _kafka(range(20), 9000))
    assert (result.stored, result.reread, client.inserts) == (0, {(TOPIC, 0)}, [])


def test_an_unreachable_clickhouse_is_retried_until_it_answers():
    retried = REGISTRY.get_sample_value("logweir_sink_retries_total") or 0.0
    client = FakeClickHouse(down_for=3)
    result = _write(client, _rows(range(0, 10)), _kafka(range(10)))
    assert result.stored == 10
    assert client.rows("otel_logs", "KafkaOffset") == list(range(10))
    assert (REGISTRY.get_sample_value("logweir_sink_retries_total") or 0.0) - retried == 3


@FORMS
def test_rows_clickhouse_refuses_are_bisected_down_to_the_bad_one_which_is_dead_lettered(
    as_columns,
):
    bad = {3, 11}

    def refuse(table: str, row: dict) -> str | None:
        return "bad row" if table == "otel_logs" and row["KafkaOffset"] in bad else None

    client = FakeClickHouse(refuse=refuse)
    result = _write(client, _rows(range(0, 16)), _kafka(range(16)), as_columns)
    assert (result.stored, result.dead_lettered) == (14, 2)
    assert sorted(client.rows("otel_logs", "KafkaOffset")) == sorted(set(range(16)) - bad)
    assert sorted(client.rows("logs_deadletter", "KafkaOffset")) == sorted(bad)
    assert {d.reason for d in result.rejected} == {"clickhouse_rejected"}
    assert sorted(d.raw for d in result.rejected) == [b"event 11", b"event 3"]
    assert all("bad row" in d.detail for d in result.rejected)


def test_a_dead_letter_clickhouse_refuses_too_is_not_counted_as_stored():
    client = FakeClickHouse(refuse=lambda table, row: "bad" if row["KafkaOffset"] == 2 else None)
    result = _write(client, _rows(range(0, 4)), _kafka(range(4)))
    assert (result.stored, result.dead_lettered, len(result.rejected)) == (3, 0, 1)


def test_the_dead_letter_of_a_refused_row_keeps_the_kafka_message_it_came_from():
    client = FakeClickHouse(refuse=lambda table, row: "bad" if table == "otel_logs" else None)
    result = _write(
        client, _rows(range(0, 1)), _kafka(range(1)), originals=lambda t, p, o: b'{"raw": 1}'
    )
    assert [d.raw for d in result.rejected] == [b'{"raw": 1}']
    assert client.rows("logs_deadletter", "Raw") == [b'{"raw": 1}']


def test_rows_encoded_already_are_inserted_as_their_blocks_completed_with_the_incarnation():
    client = FakeClickHouse()
    rows = _rows(range(0, 10))
    table_rows = _encoded(rows)
    # Blocks that say otherwise than the columns: the insert must be the blocks.
    other = _encoded([_with(row, "Body", f"encoded {i}") for i, row in enumerate(rows)])
    table_rows.encoded = other.encoded
    sink = ClickHouseSink(lambda: client, Settings())  # type: ignore[arg-type, return-value]
    assert sink.row_layout(LOGS_TABLE) is None  # the column types are not asked yet
    sink.forget_progress([(TOPIC, 0)])
    result = asyncio.run(sink.write(table_rows, [], _kafka(range(10))))
    assert result.stored == 10
    [insert] = client.inserts
    assert insert.native and insert.columns["Body"] == [f"encoded {i}" for i in range(10)]
    assert insert.columns["KafkaOffset"] == list(range(10))
    assert insert.columns[INCARNATION_COLUMN] == [0] * 10
    assert sink.row_layout(LOGS_TABLE) == LAYOUT.leading


def test_encoded_rows_of_partitions_in_different_incarnations_are_encoded_again():
    # Partition 0 is stored up to 9 in incarnation 0; its broker restarted (other timestamps
    # at offsets 0-4): incarnation 1. Partition 1 is new: incarnation 0. One insert, two.
    client = FakeClickHouse(STORED_UP_TO_9)
    restarted = _rows(range(0, 5), 9000)
    fresh = [_with(row, "KafkaPartition", 1) for row in _rows(range(0, 5), 500)]
    table_rows = _encoded(restarted + fresh)
    table_rows.encoded = _encoded([_with(r, "Body", "blocks") for r in restarted + fresh]).encoded

    class Partitions(FakePartitions):
        async def timestamp_at(self, topic: str, partition: int, offset: int) -> int | None:
            return (9000 if partition == 0 else 500) + offset

    sink = ClickHouseSink(lambda: client, Settings())  # type: ignore[arg-type, return-value]
    sink.forget_progress([(TOPIC, 0), (TOPIC, 1)])
    result = asyncio.run(sink.write(table_rows, [], Partitions({o: 0 for o in range(5)})))
    assert result.stored == 10
    [insert] = client.inserts
    assert insert.columns["Body"] == [f"event {o}" for o in range(5)] * 2  # the columns'
    assert insert.columns[INCARNATION_COLUMN] == [1] * 5 + [0] * 5


def test_rows_in_parts_read_as_rows_and_columns_in_order():
    rows = _rows(range(0, 8))
    table_rows = _encoded(rows)
    assert len(table_rows) == 8
    assert list(table_rows.column(LOG_COLUMNS.index("KafkaOffset"))) == list(range(8))
    assert table_rows.rows() == rows
    assert _encoded(rows).columns() == [list(column) for column in zip(*rows, strict=True)]
