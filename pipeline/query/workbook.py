"""otel_logs rows and summaries of them to an Excel workbook, streamed in constant memory.

The sheets, in the order Excel shows their tabs:

- `Summary`: what was exported (range, service, minimum severity), how many rows were selected
  and how many the `Rows` sheet holds, and a note when Excel's row limit cut it.
- `Rows`: the rows `--format csv` gives for the same options (the same query), a header of
  column names, then one row per log row. Times are Excel date-times (UTC); maps and arrays
  (LogAttributes, IngestFlags …) JSON text; 64-bit integers (TemplateId, KafkaOffset) text,
  since Excel keeps 15 digits of a number; text longer than a cell holds is cut with a mark.
- `Services`: rows per service and severity level, with totals.
- `Error templates`: the most frequent ERROR/FATAL templates per service, each under the id
  it stands for now (ids merged into one template count as it, as in `query error-templates`).
- `Per hour`: rows, warnings and errors per hour of the range, hours without rows included.

Rows come from ClickHouse in Native blocks and go to xlsxwriter in `constant_memory` mode,
which writes each row to a temporary file as soon as the next one starts: memory does not grow
with the number of rows. The summaries are aggregated by ClickHouse over the same selection.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError
from xlsxwriter import Workbook
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from pipeline.clickhouse import read_only
from pipeline.enrich.store import WITH_CANONICAL, canonical_id, general_texts
from pipeline.errors import first_line
from pipeline.query.export import ROWS_SQL, SELECTED, ExportError, Selection
from schemas.records import Severity

# Rows of one Excel sheet, the header included; characters of one cell (counted as Excel
# does, in UTF-16 units: a character outside the Basic Multilingual Plane counts twice).
EXCEL_ROWS = 1_048_576
CELL_CHARS = 32_767
TOP_ERROR_TEMPLATES = 100

ROWS_SHEET = "Rows"
SHEETS = ("Summary", ROWS_SHEET, "Services", "Error templates", "Per hour")

_LEVELS = (
    ("TRACE", "SeverityNumber BETWEEN 1 AND 4"),
    ("DEBUG", "SeverityNumber BETWEEN 5 AND 8"),
    ("INFO", "SeverityNumber BETWEEN 9 AND 12"),
    ("WARN", "SeverityNumber BETWEEN 13 AND 16"),
    ("ERROR", "SeverityNumber BETWEEN 17 AND 20"),
    ("FATAL", "SeverityNumber >= 21"),
    ("UNSPECIFIED", "SeverityNumber = 0"),
)
_SERVICES_SQL = f"""SELECT ServiceName,
    {", ".join(f"countIf({condition})" for _, condition in _LEVELS)}, count() AS total
FROM otel_logs WHERE {SELECTED}
GROUP BY ServiceName ORDER BY total DESC, ServiceName"""

# From the rows themselves, not from log_window_counts as `query error-templates` does, so the
# counts are those of the selected rows (the same range to the second and minimum severity).
_ERROR_TEMPLATES_SQL = f"""{WITH_CANONICAL},
e AS (
    SELECT ServiceName, {canonical_id()} AS Canonical, count() AS errors,
        min(Timestamp) AS first_seen, max(Timestamp) AS last_seen,
        any(Template) AS Text, any(Body) AS sample
    FROM otel_logs WHERE {SELECTED} AND SeverityNumber >= 17
    GROUP BY ServiceName, Canonical
    ORDER BY errors DESC, ServiceName, Canonical
    LIMIT {{limit:UInt32}}
)
SELECT e.ServiceName AS service, toString(e.Canonical) AS template_id,
    if(g.Text = '', e.Text, g.Text) AS template, e.errors AS errors,
    e.first_seen AS first_seen, e.last_seen AS last_seen, e.sample AS sample
FROM e
LEFT JOIN ({general_texts("SELECT Canonical FROM e")}) AS g ON g.Canonical = e.Canonical
ORDER BY errors DESC, service, template_id"""

_PER_HOUR_SQL = f"""SELECT toStartOfHour(TimestampTime) AS hour, count() AS rows,
    countIf(SeverityNumber BETWEEN 13 AND 16) AS warnings, countIf(SeverityNumber >= 17) AS errors
FROM otel_logs WHERE {SELECTED}
GROUP BY hour
ORDER BY hour WITH FILL FROM toStartOfHour({{since:DateTime}}) TO {{until:DateTime}}
    STEP toIntervalHour(1)"""

_WRAPPERS = re.compile(r"^(?:Nullable|LowCardinality)\((.*)\)$")
_EXACT_NUMBERS = ("UInt8", "UInt16", "UInt32", "Int8", "Int16", "Int32", "Float32", "Float64")
_STRUCTURED = ("Map(", "Array(", "Tuple(", "Nested(", "JSON", "Object(")


@dataclass(frozen=True, slots=True)
class Written:
    """What a workbook holds: rows selected, rows on the Rows sheet, whether the cap cut them."""

    selected: int
    shown: int
    cut: bool


@dataclass(frozen=True, slots=True)
class CellFormats:
    """The cell formats of one workbook (a format belongs to the workbook that added it)."""

    bold: Format
    seconds: Format
    millis: Format
    day: Format

    @classmethod
    def of(cls, book: Workbook) -> CellFormats:
        return cls(
            bold=book.add_format({"bold": True}),
            seconds=book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            millis=book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss.000"}),
            day=book.add_format({"num_format": "yyyy-mm-dd"}),
        )


def write(
    client: Client,
    selection: Selection,
    path: Path,
    max_rows: int = EXCEL_ROWS,
    on_rows: Callable[[int], None] = lambda n: None,
) -> Written:
    """Write the selected rows and their summaries to the workbook `path`.

    `max_rows`: rows the Rows sheet may hold, its header and the note of a cut included
    (Excel's limit; smaller only to test the cut). Like the other formats, the file appears
    only when complete.
    """
    partial = path.with_name(path.name + ".part")
    book = Workbook(
        str(partial),
        {
            "constant_memory": True,
            # The sheets' XML waits in temporary files until the workbook is zipped: beside
            # the output, on the disk the user chose, not in a /tmp that may be a small tmpfs.
            "tmpdir": str(path.parent),
            # Used only by a part past 4 GB (a million long rows); smaller files are unchanged.
            "use_zip64": True,
            "nan_inf_to_errors": True,
        },
    )
    try:
        formats = CellFormats.of(book)
        summary, rows_sheet, services_sheet, templates_sheet, hours_sheet = (
            book.add_worksheet(name) for name in SHEETS
        )
        parameters = selection.parameters()
        services = _query(client, _SERVICES_SQL, parameters, "count rows per service")
        selected = sum(int(row[-1]) for row in services)
        line = _describe(summary, selection, selected, formats)
        _services(services_sheet, services, formats)
        _error_templates(
            templates_sheet,
            _query(
                client,
                _ERROR_TEMPLATES_SQL,
                {**parameters, "limit": TOP_ERROR_TEMPLATES},
                "find the top error templates",
            ),
            formats,
        )
        _per_hour(
            hours_sheet,
            _query(client, _PER_HOUR_SQL, parameters, "count rows per hour"),
            formats,
        )
        try:
            with client.query_row_block_stream(
                ROWS_SQL, parameters=parameters, settings=read_only()
            ) as stream:
                names = stream.source.column_names
                types = [t.name for t in stream.source.column_types]
                on_sheet = write_rows(
                    rows_sheet, names, types, _rows(stream, on_rows), formats, max_rows, selected
                )
        except ClickHouseError as exc:
            raise ExportError(f"ClickHouse stopped the export: {first_line(exc)}") from exc
        summary.write_string(line, 0, f"Rows on the {ROWS_SHEET} sheet", formats.bold)
        summary.write_number(line, 1, on_sheet.shown)
        if on_sheet.cut:
            summary.write_string(line + 1, 0, "Note", formats.bold)
            summary.write_string(line + 1, 1, cut_note(on_sheet.shown, selected))
        book.close()
        os.replace(partial, path)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except XlsxWriterException as exc:
        raise ExportError(f"cannot write {path}: {first_line(exc)}") from exc
    finally:
        # An export stopped half-way leaves neither the partial file nor temporary files.
        if not book.fileclosed:
            _discard(book)
        partial.unlink(missing_ok=True)
    return Written(selected, on_sheet.shown, on_sheet.cut)


@dataclass(frozen=True, slots=True)
class RowsWritten:
    """Rows on the Rows sheet, and whether the cap cut them."""

    shown: int
    cut: bool


def write_rows(
    sheet: Worksheet,
    names: Sequence[str],
    types: Sequence[str],
    rows: Iterable[Sequence[Any]],
    formats: CellFormats,
    max_rows: int = EXCEL_ROWS,
    selected: int | None = None,
) -> RowsWritten:
    """A header of `names`, then `rows` (values of ClickHouse `types`) until the sheet is full;
    when more rows came than fit, its last row is a note saying so (with `selected`, how many
    there were) instead of a row."""
    if max_rows < 3:
        raise ValueError("a rows sheet needs room for its header, a row and the note of a cut")
    cells = [_cell_writer(name, formats) for name in types]
    for column, name in enumerate(names):
        sheet.write_string(0, column, name, formats.bold)
    sheet.freeze_panes(1, 0)
    room = max_rows - 1
    shown = 0
    cut = False
    rows = iter(rows)
    for values in rows:
        # The sheet's last row: this row if it is the last one, else the note of the cut.
        if shown == room - 1 and next(rows, None) is not None:
            cut = True
            sheet.write_string(max_rows - 1, 0, cut_note(shown, selected), formats.bold)
            break
        shown += 1
        for column, (cell, value) in enumerate(zip(cells, values, strict=True)):
            if value is not None:
                cell(sheet, shown, column, value)
    if shown:
        sheet.autofilter(0, 0, shown, len(names) - 1)
    return RowsWritten(shown, cut)


def cut_note(shown: int, selected: int | None) -> str:
    of = f" of {selected:,}" if selected is not None else ""
    return (
        f"CUT: an Excel sheet holds {EXCEL_ROWS:,} rows: the {ROWS_SHEET} sheet has the first "
        f"{shown:,}{of} selected rows. For all of them narrow --since/--until/--service/"
        "--severity, or export csv or parquet."
    )


def fit(text: str) -> str:
    """`text` as a cell holds it: whole, or cut with a mark that says how long it was."""
    if len(text) * 2 <= CELL_CHARS:  # the common case: short enough in any encoding
        return text
    units = len(text.encode("utf-16-le")) // 2
    if units <= CELL_CHARS:
        return text
    mark = f" …[cut: {units:,} characters, {CELL_CHARS:,} fit in a cell]"
    # Cut on UTF-16 units, dropping half a surrogate pair the cut may leave.
    kept = text.encode("utf-16-le")[: 2 * (CELL_CHARS - len(mark))]
    return kept.decode("utf-16-le", errors="ignore") + mark


_Cell = Callable[[Worksheet, int, int, Any], object]


def _cell_writer(type_name: str, formats: CellFormats) -> _Cell:
    """How a value of ClickHouse type `type_name` becomes a cell, chosen once per column."""
    base = type_name
    while match := _WRAPPERS.match(base):
        base = match.group(1)
    if base.startswith(("String", "FixedString", "Enum")):
        return lambda sheet, row, column, value: sheet.write_string(row, column, fit(value))
    if base.startswith("DateTime64"):
        return lambda sheet, row, column, value: sheet.write_datetime(
            row, column, _naive_utc(value), formats.millis
        )
    if base.startswith("DateTime"):
        return lambda sheet, row, column, value: sheet.write_datetime(
            row, column, _naive_utc(value), formats.seconds
        )
    if base.startswith("Date"):
        return lambda sheet, row, column, value: sheet.write_datetime(
            row, column, value, formats.day
        )
    if base in _EXACT_NUMBERS:
        return lambda sheet, row, column, value: sheet.write_number(row, column, value)
    if base == "Bool":
        return lambda sheet, row, column, value: sheet.write_boolean(row, column, value)
    if base.startswith(_STRUCTURED):
        return lambda sheet, row, column, value: sheet.write_string(row, column, _json(value))
    # 64-bit and wider integers (ids an Excel number would round), UUIDs, IPs, decimals.
    return lambda sheet, row, column, value: sheet.write_string(row, column, fit(str(value)))


def _json(value: Any) -> str:
    return fit(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode())


def _naive_utc(value: datetime) -> datetime:
    """Excel date-times have no zone: the UTC wall time."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _rows(blocks: Iterable[Sequence[Sequence[Any]]], on_rows: Callable[[int], None]) -> Iterator:
    for block in blocks:
        yield from block
        on_rows(len(block))


def _query(client: Client, sql: str, parameters: dict[str, object], what: str) -> list:
    try:
        return list(client.query(sql, parameters=parameters, settings=read_only()).result_rows)
    except ClickHouseError as exc:
        raise ExportError(f"cannot {what} for the workbook: {first_line(exc)}") from exc


def _describe(sheet: Worksheet, selection: Selection, selected: int, formats: CellFormats) -> int:
    """The Summary sheet's lines about what was exported; returns the next free row."""
    sheet.set_column(0, 0, 26)
    sheet.set_column(1, 1, 60)
    lines: list[tuple[str, object]] = [
        ("Exported at (UTC)", datetime.now(UTC)),
        ("Since (UTC)", selection.since),
        ("Until (UTC)", selection.until),
        ("Service", selection.service or "(all)"),
        ("Minimum severity", _level(selection.min_severity)),
        ("Rows selected", selected),
    ]
    for row, (label, value) in enumerate(lines):
        sheet.write_string(row, 0, label, formats.bold)
        if isinstance(value, datetime):
            sheet.write_datetime(row, 1, _naive_utc(value), formats.seconds)
        elif isinstance(value, int):
            sheet.write_number(row, 1, value)
        else:
            sheet.write_string(row, 1, str(value))
    return len(lines)


def _level(number: int) -> str:
    if number == 0:
        return "(all)"
    level = max(s for s in Severity if s <= number)
    return f"{level.name} and above (SeverityNumber >= {number})"


def _services(sheet: Worksheet, rows: list, formats: CellFormats) -> None:
    header = ["ServiceName", *(name for name, _ in _LEVELS), "Total"]
    _header(sheet, header, formats)
    sheet.set_column(0, 0, 24)
    for line, values in enumerate(rows, start=1):
        sheet.write_string(line, 0, values[0])
        for column, count in enumerate(values[1:], start=1):
            sheet.write_number(line, column, count)
    totals = [sum(values[column] for values in rows) for column in range(1, len(header))]
    sheet.write_string(len(rows) + 1, 0, "Total", formats.bold)
    for column, count in enumerate(totals, start=1):
        sheet.write_number(len(rows) + 1, column, count, formats.bold)


def _error_templates(sheet: Worksheet, rows: list, formats: CellFormats) -> None:
    _header(
        sheet,
        ["ServiceName", "TemplateId", "Template", "Errors", "First", "Last", "Sample"],
        formats,
    )
    sheet.set_column(0, 1, 22)
    sheet.set_column(2, 2, 60)
    sheet.set_column(4, 5, 24)
    sheet.set_column(6, 6, 60)
    for line, (service, template_id, template, errors, first, last, sample) in enumerate(
        rows, start=1
    ):
        sheet.write_string(line, 0, service)
        sheet.write_string(line, 1, template_id)
        sheet.write_string(line, 2, fit(template))
        sheet.write_number(line, 3, errors)
        sheet.write_datetime(line, 4, _naive_utc(first), formats.millis)
        sheet.write_datetime(line, 5, _naive_utc(last), formats.millis)
        sheet.write_string(line, 6, fit(sample))


def _per_hour(sheet: Worksheet, rows: list, formats: CellFormats) -> None:
    _header(sheet, ["Hour (UTC)", "Rows", "Warnings", "Errors"], formats)
    sheet.set_column(0, 0, 20)
    for line, (hour, count, warnings, errors) in enumerate(rows, start=1):
        sheet.write_datetime(line, 0, _naive_utc(hour), formats.seconds)
        sheet.write_number(line, 1, count)
        sheet.write_number(line, 2, warnings)
        sheet.write_number(line, 3, errors)


def _header(sheet: Worksheet, names: Sequence[str], formats: CellFormats) -> None:
    for column, name in enumerate(names):
        sheet.write_string(0, column, name, formats.bold)
    sheet.freeze_panes(1, 0)


def _discard(book: Workbook) -> None:
    """Remove the temporary files of a workbook that will not be written (constant_memory
    names them, so they outlive the process unless removed)."""
    for sheet in book.worksheets():
        sheet._opt_close()
        if sheet.row_data_filename:
            Path(sheet.row_data_filename).unlink(missing_ok=True)
