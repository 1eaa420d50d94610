"""Rows match their table's columns; coordinates are found where the columns say."""

from __future__ import annotations

from pipeline.ingest.message import Message
from pipeline.sink.tables import (
    COORDINATES,
    DEADLETTER_COLUMNS,
    DEADLETTER_TABLE,
    LOG_COLUMNS,
    LOGS_TABLE,
    deadletter_row,
    log_row,
)
from schemas.records import DeadLetter, LogRecord, Severity


def test_log_row_matches_columns():
    record = LogRecord(
        body="b",
        format="json",
        timestamp_ns=1_700_000_000_123_456_789,
        severity=Severity.ERROR,
        service="api",
        host="h1",
        attributes={"k": "v"},
        flags=["truncated"],
    )
    message = Message("logs.raw", 3, 77, 1_700_000_001_000, b"")
    row = dict(zip(LOG_COLUMNS, log_row(record, message, 2), strict=True))
    assert row["Timestamp"] == 1_700_000_000_123_456_789
    assert (row["SeverityText"], row["SeverityNumber"]) == ("ERROR", 17)
    assert row["ResourceAttributes"] == {"service.name": "api", "host.name": "h1"}
    assert (row["KafkaTopic"], row["KafkaPartition"], row["KafkaOffset"]) == ("logs.raw", 3, 77)
    assert (row["KafkaEventIndex"], row["KafkaTimestamp"]) == (2, 1_700_000_001_000)
    assert row["IngestFlags"] == ["truncated"]


def test_coordinates_point_at_the_kafka_columns_of_each_table():
    dead = DeadLetter(
        reason="empty", detail="", raw=b"", topic="t", partition=1, offset=9, timestamp_ms=5
    )
    row = deadletter_row(dead, 0)
    assert len(row) == len(DEADLETTER_COLUMNS)
    c = COORDINATES[DEADLETTER_TABLE]
    assert (row[c.topic], row[c.partition], row[c.offset], row[c.timestamp]) == ("t", 1, 9, 5)
    c = COORDINATES[LOGS_TABLE]
    assert (LOG_COLUMNS[c.offset], LOG_COLUMNS[c.timestamp]) == ("KafkaOffset", "KafkaTimestamp")
