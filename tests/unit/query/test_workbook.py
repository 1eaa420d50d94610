"""The workbook's Rows sheet without a server: cells as Excel holds them, and the row cap."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import orjson
import pytest
from xlsxwriter import Workbook

from pipeline.query.workbook import CELL_CHARS, CellFormats, RowsWritten, fit, write_rows

TYPES = {
    "Timestamp": "DateTime64(9)",
    "SeverityNumber": "UInt8",
    "ServiceName": "LowCardinality(String)",
    "Body": "String",
    "LogAttributes": "Map(LowCardinality(String), String)",
    "TemplateId": "UInt64",
    "IngestFlags": "Array(LowCardinality(String))",
    "Note": "Nullable(String)",
}
WHEN = datetime(2026, 3, 4, 5, 6, 7, 250_000, tzinfo=UTC)


def _rows(n: int) -> list[tuple]:
    return [
        (WHEN, 17, "api", f"line {i}", {"k": "v"}, 18_446_744_073_709_551_557, ["t"], None)
        for i in range(n)
    ]


def _written(tmp_path: Path, rows: list[tuple], max_rows: int) -> tuple[RowsWritten, list[tuple]]:
    path = tmp_path / "rows.xlsx"
    book = Workbook(str(path), {"constant_memory": True})
    written = write_rows(
        book.add_worksheet("Rows"),
        list(TYPES),
        list(TYPES.values()),
        rows,
        CellFormats.of(book),
        max_rows,
    )
    book.close()
    sheet = openpyxl.load_workbook(path, read_only=True)["Rows"]
    cells = list(sheet.iter_rows())
    # Text starting with "=" read back as a formula would be a formula in Excel too.
    assert not any(cell.data_type == "f" for row in cells for cell in row)
    return written, [tuple(cell.value for cell in row) for row in cells]


def test_cells_hold_what_excel_can_show(tmp_path: Path):
    formula = (WHEN, 9, '=HYPERLINK("http://x")', "=1+1", {}, 1, [], "kept")
    written, rows = _written(tmp_path, [*_rows(1), formula], max_rows=100)
    assert written == RowsWritten(shown=2, cut=False)
    assert rows[0] == tuple(TYPES)
    when, number, service, body, attributes, template, flags, note = rows[1]
    assert when == datetime(2026, 3, 4, 5, 6, 7, 250_000)  # UTC wall time, milliseconds kept
    assert (number, service, body) == (17, "api", "line 0")
    assert orjson.loads(attributes) == {"k": "v"} and orjson.loads(flags) == ["t"]
    assert template == "18446744073709551557"  # every digit, as text
    assert note is None
    assert rows[2][2:4] == ('=HYPERLINK("http://x")', "=1+1")  # text, never formulas
    assert rows[2][7] == "kept"


@pytest.mark.parametrize(
    ("count", "shown", "cut"),
    [(7, 7, False), (8, 8, False), (9, 7, True), (50, 7, True)],
)
def test_rows_past_the_cap_give_way_to_a_note_in_the_last_row(tmp_path, count, shown, cut):
    written, rows = _written(tmp_path, _rows(count), max_rows=9)
    assert written == RowsWritten(shown, cut)
    assert len(rows) == 1 + shown + cut <= 9
    assert [row[3] for row in rows[1 : 1 + shown]] == [f"line {i}" for i in range(shown)]
    if cut:
        assert rows[-1][0].startswith(
            f"CUT: an Excel sheet holds 1,048,576 rows: the Rows sheet has the first {shown} "
        )


def test_text_longer_than_a_cell_is_cut_with_a_mark():
    assert fit("short") == "short"
    assert fit("x" * CELL_CHARS) == "x" * CELL_CHARS
    cut = fit("x" * 100_000)
    assert len(cut) <= CELL_CHARS and cut.startswith("x" * 32_000)
    assert cut.endswith("…[cut: 100,000 characters, 32,767 fit in a cell]")
    # Excel counts UTF-16 units: a character outside the BMP counts twice, and is never halved.
    emoji = fit("😀" * 20_000)
    assert len(emoji.encode("utf-16-le")) // 2 <= CELL_CHARS
    assert "[cut: 40,000 characters" in emoji and "\ufffd" not in emoji
