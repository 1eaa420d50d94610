"""Test doubles for the sink, shipped beside it: a ClickHouse client and a Kafka partition
view that stand in for the real ones in unit tests of the sink's own logic (what it inserts,
skips, retries and bisects). The real servers are exercised by the integration and fault
tests; these are never what a test of ClickHouse or Kafka behaviour runs against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError


@dataclass
class Insert:
    table: str
    columns: dict[str, list[Any]]
    settings: dict[str, Any]


@dataclass
class FakeContext:
    table: str
    column_names: Sequence[str]
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
        return FakeContext(table, column_names)

    def insert(self, data: Sequence[Sequence[Any]], context: FakeContext) -> None:
        self._answer()
        columns = {c: list(v) for c, v in zip(context.column_names, data, strict=True)}
        for i in range(len(next(iter(columns.values()), []))):
            reason = self.refuse(context.table, {c: values[i] for c, values in columns.items()})
            if reason:
                raise DatabaseError(f"Code: 27. DB::Exception: {reason}. (CANNOT_PARSE_INPUT)")
        self.inserts.append(Insert(context.table, columns, dict(context.settings)))

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
