"""Sink pieces that need no server: deduplication tokens, rows, splitting."""

from __future__ import annotations

from pipeline.message import Message
from pipeline.sink import LOG_COLUMNS, Pending, log_row
from schemas.records import LogRecord, Severity


def test_token_is_deterministic_and_depends_on_ranges_and_table():
    def pending(table, coords):
        p = Pending(table)
        for c in coords:
            p.add((), *c)
        return p

    a = pending("otel_logs", [("t", 0, 5), ("t", 1, 9), ("t", 0, 6)])
    b = pending("otel_logs", [("t", 1, 9), ("t", 0, 5), ("t", 0, 6)])
    assert a.token() == b.token()
    assert a.token() != pending("otel_logs", [("t", 0, 5), ("t", 1, 9)]).token()
    assert a.token() != pending("logs_deadletter", [("t", 0, 5), ("t", 1, 9), ("t", 0, 6)]).token()


def test_split_keeps_rows_with_their_coordinates():
    p = Pending("otel_logs")
    for offset in range(5):
        p.add((offset,), "t", 0, offset)
    left, right = p.split()
    assert left.rows == [(0,), (1,)] and left.coordinates == [("t", 0, 0), ("t", 0, 1)]
    assert right.rows == [(2,), (3,), (4,)]


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
