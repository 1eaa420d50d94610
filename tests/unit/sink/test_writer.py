"""The writer's decisions around a ClickHouse client: what it inserts, skips and tags.

A fake client stands in for ClickHouse here (the real one is exercised by the integration and
fault tests): it records each insert's columns and settings, and answers the progress query.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.ingest.message import Message
from pipeline.settings import Settings
from pipeline.sink import ClickHouseSink, log_row
from pipeline.sink.tables import INCARNATION_COLUMN, LOG_COLUMNS
from schemas.records import LogRecord, Severity

TOPIC = "logs.raw"


class FakeContext:
    def __init__(self, table: str, columns: tuple[str, ...]) -> None:
        self.table, self.columns, self.settings = table, columns, {}


class FakeClient:
    def __init__(self, progress: list[tuple[Any, ...]]) -> None:
        self.progress = progress
        self.inserts: list[tuple[str, dict[str, list[Any]], dict[str, Any]]] = []

    def create_insert_context(self, table: str, columns: tuple[str, ...], **_: Any) -> FakeContext:
        return FakeContext(table, columns)

    def insert(self, data: list[list[Any]], context: FakeContext) -> None:
        self.inserts.append(
            (
                context.table,
                {c: list(v) for c, v in zip(context.columns, data, strict=True)},
                dict(context.settings),
            )
        )

    def query(self, sql: str, parameters: dict[str, Any]) -> Any:
        assert "ingest_progress" in sql
        return type("Result", (), {"result_rows": self.progress})()


class FakeKafka:
    def __init__(self, timestamps: dict[int, int]) -> None:
        self.timestamps = timestamps

    def highwater(self, topic: str, partition: int) -> int | None:
        return max(self.timestamps) + 1

    async def timestamp_at(self, topic: str, partition: int, offset: int) -> int | None:
        return self.timestamps.get(offset)


def _rows(offsets: range, kafka_ms: int = 1000) -> list[tuple[object, ...]]:
    record = LogRecord(body="x", format="text", timestamp_ns=1, severity=Severity.INFO)
    return [log_row(record, Message(TOPIC, 0, o, kafka_ms + o, b"x")) for o in offsets]


def _write(client: FakeClient, rows: list[tuple[object, ...]], kafka: FakeKafka):  # type: ignore[no-untyped-def]
    sink = ClickHouseSink(lambda: client, Settings())  # type: ignore[arg-type, return-value]
    sink.forget_progress([(TOPIC, 0)])
    return asyncio.run(sink.write(rows, [], kafka))


def test_a_replay_skips_what_is_stored_and_inserts_the_rest_with_its_incarnation():
    client = FakeClient([("otel_logs", TOPIC, 0, 0, 9, 1009)])
    result = _write(client, _rows(range(5, 15)), FakeKafka({o: 1000 + o for o in range(15)}))
    assert (result.stored, result.skipped) == (5, 5)
    [(table, columns, settings)] = client.inserts
    assert table == "otel_logs" and columns["KafkaOffset"] == [10, 11, 12, 13, 14]
    assert columns[INCARNATION_COLUMN] == [0] * 5
    assert settings["insert_deduplication_token"]
    assert list(columns)[: len(LOG_COLUMNS)] == list(LOG_COLUMNS)


def test_records_of_a_new_incarnation_at_old_offsets_are_stored_not_skipped():
    client = FakeClient([("otel_logs", TOPIC, 0, 0, 9, 1009)])
    # The broker restarted: offsets 0-4 hold other records (other Kafka timestamps).
    result = _write(client, _rows(range(0, 5), 9000), FakeKafka({o: 9000 + o for o in range(5)}))
    assert (result.stored, result.skipped, result.reread) == (5, 0, set())
    [(_, columns, _)] = client.inserts
    assert columns[INCARNATION_COLUMN] == [1] * 5


def test_a_new_incarnation_found_past_its_start_writes_nothing_and_asks_to_read_again():
    client = FakeClient([("otel_logs", TOPIC, 0, 0, 9, 1009)])
    kafka = FakeKafka({o: 9000 + o for o in range(20)})
    result = _write(client, _rows(range(10, 20), 9000), kafka)
    assert (result.stored, result.reread, client.inserts) == (0, {(TOPIC, 0)}, [])
