# The C module pipeline/ingest/_scan.c (see there and pipeline/ingest/columnar.py).
from collections.abc import Container
from typing import Any

from pipeline.parsing.registry import GroupTable

def scan(
    records: list[Any],
    start: int,
    config: tuple[GroupTable, int, Container[str], Any, dict[str, bytes]],
    out: tuple[list[Any], ...],
) -> int: ...
def group(line: bytes, table: GroupTable, fallback: int) -> int: ...
def census(records: list[Any]) -> tuple[dict[str, int], int]: ...
def extremes(values: list[int]) -> tuple[int, int]: ...

class KafkaRecord:
    """A Kafka record read from a record batch (pipeline/ingest/kafka_records.py)."""

    def __init__(
        self,
        topic: str,
        partition: int,
        offset: int,
        timestamp: int,
        key: bytes | None,
        value: bytes | None,
        headers: tuple[tuple[str, bytes | None], ...],
    ) -> None: ...
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> tuple[tuple[str, bytes | None], ...]: ...

def records_of(
    buffer: bytes, start: int, end: int, topic: str, partition: int, from_offset: int
) -> list[KafkaRecord]: ...
def fill(
    slots: list[Any],
    line_slots: list[int],
    lines: list[bytes],
    parsed: list[Any],
    tail: tuple[Any, ...],
) -> list[int]: ...
def transpose(rows: list[Any], width: int) -> list[list[Any]]: ...
