"""The sink's insert body: a table's columns as one ClickHouse Native block, encoded in C.

clickhouse-connect's compiled encoder spent 2.7 µs a row on otel_logs (measured per column:
1.3 of them on the LogAttributes map), most of it converting each Python string. `_native.c`
writes the same bytes (tests/unit/sink/test_native_block.py checks them against
clickhouse-connect's Python encoder) for the types the sink's tables use. A table with another
type, or a value the C code does not take (not an int or a string where one is expected, out of
range), is inserted by clickhouse-connect as before, so its checks and errors are unchanged.

The columnar prepare step encodes a batch a part at a time, while each part's values are still
in the CPU cache (`Encoded`): the insert body is then those blocks, each completed with the
column the sink adds last (the incarnation, known only at write time), one Native block after
another in one INSERT, which ClickHouse squashes into one block (one part, one deduplication
token) before it writes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

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
        self._leading: NativeLayout | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NativeLayout):
            return NotImplemented
        return (self.kinds, self.headers) == (other.kinds, other.headers)

    def __hash__(self) -> int:
        return hash((self.kinds, self.headers))

    @classmethod
    def _of(cls, kinds: tuple[int, ...], headers: tuple[bytes, ...]) -> NativeLayout:
        made = cls.__new__(cls)
        made.kinds, made.headers, made._leading = kinds, headers, None
        return made

    @classmethod
    def of(cls, context: InsertContext) -> NativeLayout | None:
        """The layout of an insert context's table; None (and said once) when a column's type
        has no C encoding: its inserts stay with clickhouse-connect."""
        try:
            return cls(context.column_names, [t.insert_name for t in context.column_types])
        except ValueError as exc:
            log.info("inserts into %s use clickhouse-connect's encoder: %s", context.table, exc)
            return None

    @property
    def leading(self) -> NativeLayout:
        """The layout of every column but the last: blocks made before the last column's values
        are known, which `completed` finishes."""
        if self._leading is None:
            self._leading = self._of(self.kinds[:-1], self.headers[:-1])
        return self._leading

    def completed(self, blocks: Sequence[tuple[bytes, int]], value: object) -> bytes | None:
        """Blocks of `leading`'s columns (each with its number of rows), each with `value` in
        every row of the last column: one insert body. None when the C encoder does not take
        `value`."""
        columns = len(self.headers)
        count = _leb128(columns)
        # A block starts with its number of columns, then of rows (LEB128 each).
        skip = len(_leb128(columns - 1))
        last = self._of(self.kinds[-1:], self.headers[-1:])
        tails: dict[int, memoryview] = {}
        parts: list[bytes | memoryview] = []
        for block, rows in blocks:
            tail = tails.get(rows)
            if tail is None:
                made = last.block([[value] * rows], rows)
                if made is None:
                    return None
                tail = tails[rows] = memoryview(made)[len(_leb128(1)) + len(_leb128(rows)) :]
            parts += (count, memoryview(block)[skip:], tail)
        return b"".join(parts)

    def block(self, columns: Sequence[Sequence[object]], rows: int) -> bytes | None:
        """The columns as one Native block; None when a value is not one the C encoder takes
        (clickhouse-connect then encodes the columns, or says what is wrong)."""
        try:
            return _native.block(self.headers, self.kinds, columns, rows)
        except (TypeError, ValueError, OverflowError) as exc:
            log.debug("insert left to clickhouse-connect: %s", first_line(exc))
            return None


@dataclass(frozen=True, slots=True)
class Encoded:
    """A table's rows already encoded: Native blocks of `layout`'s columns, each with its
    number of rows, in row order (see the module docstring)."""

    layout: NativeLayout
    blocks: list[tuple[bytes, int]]


def _leb128(number: int) -> bytes:
    encoded = bytearray()
    write_leb128(number, encoded)
    return bytes(encoded)


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
        insert_body(client, context, block)


def insert_body(client: Client, context: InsertContext, body: bytes) -> None:
    """Insert Native blocks of all its context's columns, encoded already."""
    client.raw_insert(
        context.table, context.column_names, body, settings=context.settings, fmt="Native"
    )
