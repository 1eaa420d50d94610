"""The sink's insert body: a table's columns as one ClickHouse Native block, encoded in C.

clickhouse-connect's compiled encoder spent 2.7 µs a row on otel_logs (measured per column:
1.3 of them on the LogAttributes map), most of it converting each Python string. `_native.c`
writes the same bytes (tests/unit/sink/test_native_block.py checks them against
clickhouse-connect's Python encoder) for the types the sink's tables use. A table with another
type, or a value the C code does not take (not an int or a string where one is expected, out of
range), is inserted by clickhouse-connect as before, so its checks and errors are unchanged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.common import write_leb128
from clickhouse_connect.driver.insert import InsertContext

from pipeline.errors import first_line
from pipeline.sink import _native

log = logging.getLogger(__name__)

# ClickHouse type → the C encoder's kind (the enum at the top of _native.c).
_KINDS = {
    "String": 0,
    "LowCardinality(String)": 1,
    "UInt8": 2,
    "UInt32": 3,
    "DateTime": 3,  # seconds, as UInt32
    "UInt64": 4,
    "Map(LowCardinality(String), String)": 6,
    "Array(LowCardinality(String))": 7,
}
_INT64 = 5  # DateTime64(p[, tz]): ticks as Int64, the int the sink holds
_DATETIME64 = re.compile(r"DateTime64\(\d(?:, '[^']*')?\)")


def _kind(type_name: str) -> int | None:
    if _DATETIME64.fullmatch(type_name):
        return _INT64
    return _KINDS.get(type_name)


def _header(name: str, type_name: str) -> bytes:
    """A column's name and type as a Native block starts it: each a LEB128 length and UTF-8."""
    header = bytearray()
    for text in (name.encode(), type_name.encode()):
        write_leb128(len(text), header)
        header += text
    return bytes(header)


class NativeLayout:
    """What `_native.block` needs of one table's insert: each column's encoded name and type,
    and its kind."""

    def __init__(self, names: Sequence[str], types: Sequence[str]) -> None:
        kinds = [_kind(t) for t in types]
        unknown = [t for t, kind in zip(types, kinds, strict=True) if kind is None]
        if unknown:
            raise ValueError(f"no C encoding for {', '.join(unknown)}")
        self.kinds = tuple(kind for kind in kinds if kind is not None)
        self.headers = tuple(map(_header, names, types))

    @classmethod
    def of(cls, context: InsertContext) -> NativeLayout | None:
        """The layout of an insert context's table; None (and said once) when a column's type
        has no C encoding: its inserts stay with clickhouse-connect."""
        try:
            return cls(context.column_names, [t.insert_name for t in context.column_types])
        except ValueError as exc:
            log.info("inserts into %s use clickhouse-connect's encoder: %s", context.table, exc)
            return None

    def block(self, columns: Sequence[Sequence[object]], rows: int) -> bytes | None:
        """The columns as one Native block; None when a value is not one the C encoder takes
        (clickhouse-connect then encodes the columns, or says what is wrong)."""
        try:
            return _native.block(self.headers, self.kinds, columns, rows)
        except (TypeError, ValueError, OverflowError) as exc:
            log.debug("insert left to clickhouse-connect: %s", first_line(exc))
            return None


def insert(
    client: Client,
    context: InsertContext,
    layout: NativeLayout | None,
    columns: Sequence[Sequence[object]],
) -> None:
    """Insert a table's columns (its context's, in order), encoded here where `layout` takes
    them, else by clickhouse-connect."""
    block = layout.block(columns, len(columns[0])) if layout else None
    if block is None:
        client.insert(data=columns, context=context)
    else:
        client.raw_insert(
            context.table, context.column_names, block, settings=context.settings, fmt="Native"
        )
