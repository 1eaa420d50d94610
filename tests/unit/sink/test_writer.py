"""The writer's decisions around a ClickHouse client: what it inserts, skips, retries and
bisects, against the sink's own test doubles (pipeline/sink/testing.py)."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.ingest.message import Message
from pipeline.observe.metrics import REGISTRY
from pipeline.settings import Settings
from pipeline.sink import ClickHouseSink, WriteResult, log_row
from pipeline.sink.tables import INCARNATION_COLUMN, LOG_COLUMNS, TableRows
from pipeline.sink.testing import FakeClickHouse, FakePartitions
from schemas.records import LogRecord, Severity

TOPIC = "logs.raw"
STORED_UP_TO_9 = [("otel_logs", TOPIC, 0, 0, 9, 1009)]


def _rows(offsets: range, kafka_ms: int = 1000) -> list[tuple[object, ...]]:
    rows = []
    for o in offsets:
        record = LogRecord(body=f"event {o}", format="text", timestamp_ns=1, severity=Severity.INFO)
        rows.append(log_row(record, Message(TOPIC, 0, o, kafka_ms + o, b"x")))
    return rows


def _write(
    client: FakeClickHouse, rows, kafka: FakePartitions, as_columns=False, **kw
) -> WriteResult:  # type: ignore[no-untyped-def]
    """`rows` written as the record path hands them over, or as the columnar step does."""
    sink = ClickHouseSink(lambda: client, Settings())  # type: ignore[arg-type, return-value]
    sink.forget_progress([(TOPIC, 0)])
    table_rows = (
        TableRows.of_columns(list(zip(*rows, strict=True))) if as_columns else TableRows(rows)
    )
    return asyncio.run(sink.write(table_rows, [], kafka, **kw))


# The two forms a batch's rows come in: row tuples (record path), columns (columnar step).
FORMS = pytest.mark.parametrize("as_columns", [False, True], ids=["rows", "columns"])


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
