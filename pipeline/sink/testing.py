"""Test doubles for the sink, shipped beside it: a ClickHouse client and a Kafka partition
view that stand in for the real ones in unit tests of the sink's own logic (what it inserts,
skips, retries and bisects). The real servers are exercised by the integration and fault
tests; these are never what a test of ClickHouse or Kafka behaviour runs against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from clickhouse_connect.datatypes.base import ClickHouseType
from clickhouse_connect.datatypes.registry import get_from_name
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from clickhouse_connect.driver.query import QueryContext, QueryResult
from clickhouse_connect.driver.transform import NativeTransform
from clickhouse_connect.driverc.buffer import ResponseBuffer


@dataclass
class Insert:
    table: str
    columns: dict[str, list[Any]]
    settings: dict[str, Any]
    native: bool  # encoded by the sink's C encoder (raw_insert), or left to clickhouse-connect


# The ClickHouse types of the sink's tables (schemas/migrations/; an integration test checks
# them against the server's), so that the writer encodes its inserts as it does for real.
COLUMN_TYPES = {
    "Timestamp": "DateTime64(9)",
    "TraceId": "String",
    "SpanId": "String",
    "TraceFlags": "UInt8",
    "SeverityText": "LowCardinality(String)",
    "SeverityNumber": "UInt8",
    "ServiceName": "LowCardinality(String)",
    "Body": "String",
    "ResourceSchemaUrl": "LowCardinality(String)",
    "ResourceAttributes": "Map(LowCardinality(String), String)",
    "ScopeSchemaUrl": "LowCardinality(String)",
    "ScopeName": "String",
    "ScopeVersion": "LowCardinality(String)",
    "ScopeAttributes": "Map(LowCardinality(String), String)",
    "LogAttributes": "Map(LowCardinality(String), String)",
    "EventName": "String",
    "LogFormat": "LowCardinality(String)",
    "TemplateId": "UInt64",
    "Template": "String",
    "IngestFlags": "Array(LowCardinality(String))",
    "KafkaTopic": "LowCardinality(String)",
    "KafkaPartition": "UInt32",
    "KafkaOffset": "UInt64",
    "KafkaEventIndex": "UInt32",
    "KafkaTimestamp": "DateTime64(3)",
    "KafkaIncarnation": "UInt32",
    "MessageTimestamp": "DateTime64(3)",
    "Reason": "LowCardinality(String)",
    "Detail": "String",
    "Raw": "String",
    "RawBytes": "UInt64",
}


@dataclass
class FakeContext:
    table: str
    column_names: Sequence[str]
    column_types: Sequence[ClickHouseType]
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeClickHouse:
    """What the sink calls of clickhouse-connect's Client.

    `progress`: the rows the progress query answers (TargetTable, topic, partition,
    incarnation, offset, witness). `down_for`: this many calls fail as if the server were
    unreachable. `refuse`: a table and row (column name → value) for which it returns a
    reason refuse the whole insert, as ClickHouse refuses a block holding one bad row.
    """

    progress: list[tuple[Any, ...]] = field(default_factory=list)
    down_for: int = 0
    refuse: Callable[[str, dict[str, Any]], str | None] = lambda table, row: None
    inserts: list[Insert] = field(default_factory=list)
    calls: int = 0

    def create_insert_context(
        self, table: str, column_names: Sequence[str], **_: Any
    ) -> FakeContext:
        types = [get_from_name(COLUMN_TYPES[name]) for name in column_names]
        return FakeContext(table, column_names, types)

    def insert(self, data: Sequence[Sequence[Any]], context: FakeContext) -> None:
        columns = {c: list(v) for c, v in zip(context.column_names, data, strict=True)}
        self._store(context.table, columns, context.settings, native=False)

    def raw_insert(
        self,
        table: str,
        column_names: Sequence[str],
        insert_block: bytes,
        settings: dict[str, Any],
        fmt: str,
    ) -> None:
        """A Native block, read by clickhouse-connect (times as the ints the sink holds, a dead
        letter's raw input as its bytes)."""
        assert fmt == "Native"
        formats = QueryContext(query_formats={"DateTime*": "int"}, column_formats={"Raw": "bytes"})
        read = cast(
            QueryResult,
            NativeTransform.parse_response(ResponseBuffer(_Body(insert_block)), formats),
        )
        assert list(read.column_names) == list(column_names)
        columns = dict(zip(read.column_names, map(list, read.result_columns), strict=True))
        self._store(table, columns, settings, native=True)

    def _store(
        self, table: str, columns: dict[str, list[Any]], settings: dict[str, Any], *, native: bool
    ) -> None:
        self._answer()
        for i in range(len(next(iter(columns.values()), []))):
            reason = self.refuse(table, {c: values[i] for c, values in columns.items()})
            if reason:
                raise DatabaseError(f"Code: 27. DB::Exception: {reason}. (CANNOT_PARSE_INPUT)")
        self.inserts.append(Insert(table, columns, dict(settings), native))

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        self._answer()
        return _Result(self.progress)

    def rows(self, table: str, column: str) -> list[Any]:
        """Every value of `column` inserted into `table`, in insert order."""
        return [v for i in self.inserts if i.table == table for v in i.columns[column]]

    def _answer(self) -> None:
        self.calls += 1
        if self.down_for > 0:
            self.down_for -= 1
            raise OperationalError("Error executing HTTP request: Connection refused")


class _Body:
    """A response body, as clickhouse-connect's reader takes it."""

    def __init__(self, data: bytes) -> None:
        self.gen = iter([data])
        self.last_message = None

    def close(self) -> None:
        pass


@dataclass
class _Result:
    result_rows: list[tuple[Any, ...]]


@dataclass
class FakePartitions:
    """A partition as the broker has it now: offset → Kafka timestamp (ms)."""

    timestamps: dict[int, int]

    def highwater(self, topic: str, partition: int) -> int | None:
        return max(self.timestamps, default=-1) + 1

    async def timestamp_at(self, topic: str, partition: int, offset: int) -> int | None:
        return self.timestamps.get(offset)
