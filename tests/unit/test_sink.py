"""Sink pieces that need no server: deduplication tokens, rows, splitting."""

from __future__ import annotations

from pipeline.message import Message
from pipeline.sink import (
    COORDINATE_COLUMNS,
    DEADLETTER_TABLE,
    LOG_COLUMNS,
    LOGS_TABLE,
    TABLE_COLUMNS,
    Pending,
    log_row,
)
from schemas.records import LogRecord, Severity


def _pending(table: str, coordinates: list[tuple[str, int, int]]) -> Pending:
    """Rows that hold nothing but their Kafka coordinates, where the table keeps them."""
    width = len(TABLE_COLUMNS[table])
    rows = []
    for coordinate in coordinates:
        row: list[object] = [None] * width
        for column, value in zip(COORDINATE_COLUMNS[table], coordinate, strict=True):
            row[column] = value
        rows.append(tuple(row))
    return Pending(table, rows)


def test_token_is_deterministic_and_depends_on_ranges_and_table():
    a = _pending(LOGS_TABLE, [("t", 0, 5), ("t", 1, 9), ("t", 0, 6)])
    b = _pending(LOGS_TABLE, [("t", 1, 9), ("t", 0, 5), ("t", 0, 6)])
    assert a.token() == b.token()
    assert a.token() != _pending(LOGS_TABLE, [("t", 0, 5), ("t", 1, 9)]).token()
    assert a.token() != _pending(DEADLETTER_TABLE, [("t", 0, 5), ("t", 1, 9), ("t", 0, 6)]).token()


def test_spans_are_ranges_and_counts_per_partition():
    p = _pending(DEADLETTER_TABLE, [("t", 0, 7), ("t", 0, 5), ("u", 2, 1), ("t", 0, 6)])
    assert p.spans() == {("t", 0): [5, 7, 3], ("u", 2): [1, 1, 1]}


def test_split_keeps_rows_with_their_coordinates():
    p = _pending(LOGS_TABLE, [("t", 0, offset) for offset in range(5)])
    left, right = p.split()
    assert [left.coordinates(r) for r in left.rows] == [("t", 0, 0), ("t", 0, 1)]
    assert [right.coordinates(r) for r in right.rows] == [("t", 0, 2), ("t", 0, 3), ("t", 0, 4)]


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
    row = dict(zip(LOG_COLUMNS, log_row(record, Message("logs.raw", 3, 77, 0, b"")), strict=True))
    assert row["Timestamp"] == 1_700_000_000_123_456_789
    assert row["TimestampTime"] == 1_700_000_000
    assert (row["SeverityText"], row["SeverityNumber"]) == ("ERROR", 17)
    assert row["ResourceAttributes"] == {"service.name": "api", "host.name": "h1"}
    assert (row["KafkaTopic"], row["KafkaPartition"], row["KafkaOffset"]) == ("logs.raw", 3, 77)
    assert row["IngestFlags"] == ["truncated"]
