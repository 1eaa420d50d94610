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
