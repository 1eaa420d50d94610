"""otel_logs rows to a CSV, JSON-lines or Parquet file, streamed chunk by chunk from ClickHouse.

An xlsx workbook holds the same rows (the same query) and is written by `workbook`.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from pipeline.clickhouse import read_only
from pipeline.errors import LogweirError, first_line
from pipeline.parsing import severity
from pipeline.query.timerange import Scope

# ClickHouse writes each file format itself, so nothing is decoded or re-encoded in Python.
FORMATS = {"csv": "CSVWithNames", "jsonl": "JSONEachRow", "parquet": "Parquet"}
# Not a ClickHouse format: logweir writes the workbook from rows ClickHouse streams in blocks.
XLSX = "xlsx"
CHUNK_BYTES = 1 << 20

# The rows a Selection stands for (its parameters fill the placeholders).
SELECTED = """TimestampTime >= {since:DateTime} AND TimestampTime <= {until:DateTime}
  AND ({service:String} = '' OR ServiceName = {service:String})
  AND SeverityNumber >= {severity:UInt8}"""
# The table's order key: ClickHouse streams in this order without sorting the whole range.
ROWS_SQL = f"""SELECT * FROM otel_logs
WHERE {SELECTED}
ORDER BY ServiceName, TimestampTime, Timestamp"""
_COUNT = "SELECT count() FROM (" + ROWS_SQL + ")"


class ExportError(LogweirError):
    """An export that cannot run as asked, or that ClickHouse or the disk stopped."""


@dataclass(frozen=True, slots=True)
class Selection(Scope):
    """Which rows: a time range, optionally one service and a minimum severity."""

    min_severity: int = 0

    def parameters(self) -> dict[str, object]:
        return {
            "since": self.since,
            "until": self.until,
            "service": self.service,
            "severity": self.min_severity,
        }


def min_severity(text: str) -> int:
    """`ERROR` (any case) or an OTel number 1–24 → the lowest SeverityNumber to export."""
    if text.strip().isdigit() and 1 <= int(text) <= 24:
        return int(text)
    try:
        return int(severity.named(text))
    except ValueError:
        raise ExportError(
            f"--severity {text!r} is not a level: use TRACE, DEBUG, INFO, WARN, ERROR or FATAL "
            "(that level and above are exported) or a SeverityNumber 1-24"
        ) from None


def count(client: Client, selection: Selection) -> int:
    try:
        return int(
            client.query(
                _COUNT, parameters=selection.parameters(), settings=read_only()
            ).result_rows[0][0]
        )
    except ClickHouseError as exc:
        raise ExportError(f"cannot count the rows to export: {first_line(exc)}") from exc


def write(
    client: Client,
    selection: Selection,
    fmt: str,
    path: Path,
    compress: bool,
    on_bytes: Callable[[int], None] = lambda n: None,
) -> int:
    """Stream the selected rows to `path`; return the bytes ClickHouse sent.

    The file appears only when complete: rows go to `path` + ".part", renamed at the end, so an
    interrupted export never leaves a file that looks whole.
    """
    check(fmt, compress, path)
    partial = path.with_name(path.name + ".part")
    sent = 0
    try:
        # The synchronous client returns the HTTP response itself, a readable binary stream.
        stream = cast(
            BinaryIO,
            client.raw_stream(
                ROWS_SQL,
                parameters=selection.parameters(),
                settings=read_only(),
                fmt=FORMATS[fmt],
            ),
        )
        with stream, _open(partial, compress) as out:
            for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
                out.write(chunk)
                sent += len(chunk)
                on_bytes(len(chunk))
        os.replace(partial, path)
    except ClickHouseError as exc:
        partial.unlink(missing_ok=True)
        raise ExportError(f"ClickHouse stopped the export: {first_line(exc)}") from exc
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return sent


def check(fmt: str, compress: bool, path: Path) -> None:
    """Refuse what cannot work before any query runs."""
    if fmt not in (*FORMATS, XLSX):
        raise ExportError(f"--format {fmt!r} is not one of {', '.join((*FORMATS, XLSX))}")
    if compress and fmt == "parquet":
        raise ExportError("Parquet is compressed inside the file already: drop --gzip")
    if compress and fmt == XLSX:
        raise ExportError("an xlsx workbook is a zip file already: drop --gzip")
    if not path.parent.is_dir():
        raise ExportError(f"directory {path.parent} does not exist: create it or choose another -o")


def _open(path: Path, compress: bool) -> BinaryIO:
    if compress:
        return gzip.open(path, "wb", compresslevel=6)  # type: ignore[return-value]
    return open(path, "wb")  # noqa: SIM115 - closed by the caller's with
