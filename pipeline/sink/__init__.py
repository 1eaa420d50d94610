"""Sink: a prepared batch's rows and dead letters in; rows in ClickHouse, exactly once, out.

`tables` names the two tables, their columns and the row builders; `progress` keeps what is
already stored per Kafka partition and incarnation (the marks that make a replay a no-op) and
the insert tokens; `writer` inserts with retries through outages and bisects rows the server
refuses down to the bad ones, which become dead letters.
"""

from pipeline.sink.progress import PartitionLog
from pipeline.sink.tables import (
    DEADLETTER_COLUMNS,
    DEADLETTER_TABLE,
    LOG_COLUMNS,
    LOGS_TABLE,
    Row,
    deadletter_row,
    log_row,
)
from pipeline.sink.writer import ClickHouseSink, WriteResult

__all__ = [
    "DEADLETTER_COLUMNS",
    "DEADLETTER_TABLE",
    "LOG_COLUMNS",
    "LOGS_TABLE",
    "ClickHouseSink",
    "PartitionLog",
    "Row",
    "WriteResult",
    "deadletter_row",
    "log_row",
]
