"""`logweir export`, `query` and `sql` as a user runs them, against a real ClickHouse."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import openpyxl
import orjson
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import LogweirError
from pipeline.query import workbook
from pipeline.query.export import Selection
from pipeline.query.timerange import TimeRange
from tests.support.known_rows import COLUMNS, known_row, known_rows
from tests.support.stack import logweir

pytestmark = pytest.mark.integration

HOSTILE = (
    "'; DROP TABLE otel_logs; --",
    "x' OR '1'='1",
    "back\\slash\\' OR 1=1 --",
    '"quoted" `ticks`',
)


@pytest.fixture
def cli(pipeline_settings, clickhouse):  # type: ignore[no-untyped-def]
    """Run `logweir …` in-process with the test's settings; 21 known rows stored."""
    clickhouse.insert("otel_logs", known_rows(), column_names=COLUMNS)
    env = pipeline_settings.to_env()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, list(args), env=env)

    return invoke


def _json_lines(text: str) -> list[dict]:
    return [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_export_writes_every_selected_row_in_each_format(cli, tmp_path: Path):
    out = tmp_path / "all.csv"
    result = cli("export", "--since", "2h", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 21 and "wrote 21 rows" in result.output
    assert {r["ServiceName"] for r in rows} == {"checkout", "payments"}
    assert not list(tmp_path.glob("*.part"))

    out = tmp_path / "errors.jsonl.gz"
    result = cli(
        "export",
        "--since",
        "2h",
        "--severity",
        "error",
        "--service",
        "payments",
        "--format",
        "jsonl",
        "--gzip",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    events = [orjson.loads(line) for line in gzip.decompress(out.read_bytes()).splitlines()]
    assert len(events) == 12
    assert all(e["SeverityText"] == "ERROR" and e["ServiceName"] == "payments" for e in events)

    out = tmp_path / "checkout.parquet"
    result = cli(
        "export", "--since", "2h", "--service", "checkout", "--format", "parquet", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == 6
    assert sorted(table.column("Body").to_pylist()) == [f"GET /api/items/{i}" for i in range(6)]


def test_export_refuses_what_cannot_work_before_querying(cli, tmp_path: Path):
    for args, message in (
        (("--format", "parquet", "--gzip"), "drop --gzip"),
        (("--format", "xlsx", "--gzip"), "drop --gzip"),
        (("--format", "xml"), "is not one of"),
        (("--severity", "loud"), "is not a level"),
        (("--since", "yesterday"), "cannot read time"),
        (("--since", "1h", "--until", "2h"), "is not before"),
    ):
        result = cli("export", *args, "-o", str(tmp_path / "x"))
        assert isinstance(result.exception, LogweirError), result.output
        assert message in str(result.exception) and "\n" not in str(result.exception)
    assert not list(tmp_path.iterdir())


def test_query_and_sql_read_only_output(cli):
    listed = cli("query", "--list")
    assert listed.exit_code == 0 and "error-templates" in listed.output
    errors = _json_lines(cli("query", "errors", "--since", "2h", "--format", "json").output)
    assert {e["service"]: e["errors"] for e in errors} == {
        "payments": 12,
        "checkout": 2,
        "(all)": 14,
    }
    table = cli("query", "top", "--since", "2h", "--by", "ServiceName")
    assert table.exit_code == 0 and "payments" in table.output

    counted = cli(
        "sql",
        "SELECT ServiceName, count() AS n FROM otel_logs GROUP BY ServiceName ORDER BY ServiceName",
        "--format",
        "csv",
    )
    assert counted.output.splitlines() == ["ServiceName,n", "checkout,6", "payments,15"]
    refused = cli("sql", "DROP TABLE otel_logs")
    assert isinstance(refused.exception, LogweirError)
    assert "--allow-write" in str(refused.exception)
    allowed = cli(
        "sql",
        "ALTER TABLE otel_logs DELETE WHERE ServiceName = 'payments' SETTINGS mutations_sync = 2",
        "--allow-write",
    )
    assert allowed.exit_code == 0, allowed.output
    assert cli(
        "sql", "SELECT count() AS n FROM otel_logs", "--format", "csv"
    ).output.splitlines() == ["n", "6"]


def test_hostile_filter_values_match_nothing_and_change_nothing(cli, clickhouse, tmp_path):
    tables = sorted(clickhouse.query("SHOW TABLES").result_rows)
    for value in HOSTILE:
        for name in ("errors", "users", "performance", "top"):
            out = cli("query", name, "--since", "2h", "--service", value, "--format", "json")
            assert out.exit_code == 0, out.output
            assert all(row.get("rows", 0) == 0 for row in _json_lines(out.output)), out.output
            if name != "errors":
                assert _json_lines(out.output) == []
        out = cli(
            "query", "top-attribute", "--since", "2h", "--attribute", value, "--format", "json"
        )
        assert out.exit_code == 0 and _json_lines(out.output) == [], out.output

        path = tmp_path / "hostile.jsonl"
        out = cli("export", "--since", "2h", "--service", value, "-o", str(path))
        assert out.exit_code == 0 and path.read_bytes() == b"", out.output

        out = cli(
            "sql",
            "SELECT count() AS n FROM otel_logs WHERE ServiceName = {s:String}",
            "--param",
            f"s={value}",
            "--format",
            "csv",
        )
        assert out.output.splitlines() == ["n", "0"], out.output

        for option in ("--by", "--since", "--until", "--step"):
            out = cli("query", "top", option, value)
            assert isinstance(out.exception, LogweirError), (option, out.output)
        out = cli("export", "--severity", value, "-o", str(path))
        assert isinstance(out.exception, LogweirError)

    assert sorted(clickhouse.query("SHOW TABLES").result_rows) == tables
    assert clickhouse.query("SELECT count() FROM otel_logs").result_rows[0][0] == 21


def test_cli_errors_are_one_line(pipeline_settings):
    done = logweir(pipeline_settings, "query", "no-such-report")
    assert done.returncode == 1
    assert done.stderr.replace("\n", " ").startswith("error: no report named 'no-such-report'")
    assert "Traceback" not in done.stderr


def _sheet(book, name: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    return list(book[name].iter_rows(values_only=True))


def _csv_rows(cli, tmp_path: Path, *options: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    out = tmp_path / "same.csv"
    result = cli("export", *options, "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(out.read_text())))


def test_xlsx_holds_the_csv_rows_and_summaries_counted_in_otel_logs(cli, clickhouse, tmp_path):
    # Template 9 became an alias of 7: its rows count as 7, under the most general text.
    merged = [known_row(40, "payments", 17, f"timeout after {i}00 ms", 9) for i in range(3)]
    for row in merged:
        row[COLUMNS.index("Template")] = "timeout after <*> ms"
    # A body longer than a cell holds, and one Excel would read as a formula if written as one.
    odd = [
        known_row(45, "checkout", 13, "x" * 40_000, 3, {"user.id": "u3", "n": "1"}),
        known_row(46, "checkout", 13, "=1+1", 3),
    ]
    clickhouse.insert("otel_logs", merged + odd, column_names=COLUMNS)
    clickhouse.insert("template_aliases", [[9, 7]], column_names=["Alias", "TemplateId"])

    out = tmp_path / "logs.xlsx"
    result = cli("export", "--since", "2h", "--format", "xlsx", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "wrote 26 rows" in result.output and not list(tmp_path.glob("*.part"))
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == list(workbook.SHEETS)

    # Rows: the csv export's rows, in its order, column for column.
    rows = _sheet(book, "Rows")
    header, rows = list(rows[0]), rows[1:]
    expected = _csv_rows(cli, tmp_path, "--since", "2h")
    assert header == list(expected[0]) and len(rows) == len(expected) == 26
    for row, want in zip(rows, expected, strict=True):
        got = dict(zip(header, row, strict=True))
        assert got["ServiceName"] == want["ServiceName"]
        assert got["TemplateId"] == want["TemplateId"]  # 64-bit ids as text, every digit
        assert got["SeverityNumber"] == int(want["SeverityNumber"])
        assert got["Timestamp"].isoformat(" ") == want["Timestamp"][:19]  # a datetime (UTC)
        if len(want["Body"]) <= workbook.CELL_CHARS:
            assert got["Body"] == want["Body"]
        else:
            body = got["Body"]
            assert body.startswith("x" * 30_000) and "…[cut: 40,000 characters" in body
            assert len(body) <= workbook.CELL_CHARS
            assert orjson.loads(got["LogAttributes"]) == {"user.id": "u3", "n": "1"}

    # Services: rows per service and level, as otel_logs counts them.
    levels = {1: "TRACE", 5: "DEBUG", 9: "INFO", 13: "WARN", 17: "ERROR", 21: "FATAL"}
    counted = clickhouse.query(
        "SELECT ServiceName, SeverityNumber, count() FROM otel_logs GROUP BY 1, 2"
    ).result_rows
    services = _sheet(book, "Services")
    columns = list(services[0])
    table = {row[0]: dict(zip(columns, row, strict=True)) for row in services[1:]}
    for service, number, n in counted:
        assert table[service][levels[number]] == n
    for service in ("checkout", "payments"):
        assert table[service]["Total"] == sum(n for s, _, n in counted if s == service)
    assert table["Total"]["Total"] == 26 and table["Total"]["ERROR"] == 17

    # Error templates: per service and current template id, as otel_logs counts them.
    errors = clickhouse.query(
        "SELECT ServiceName, toString(if(TemplateId = 9, 7, TemplateId)) AS id, count() "
        "FROM otel_logs WHERE SeverityNumber >= 17 GROUP BY 1, 2 ORDER BY 3 DESC"
    ).result_rows
    templates = _sheet(book, "Error templates")
    assert templates[0][:4] == ("ServiceName", "TemplateId", "Template", "Errors")
    assert [row[:2] + row[3:4] for row in templates[1:]] == [tuple(e) for e in errors]
    assert templates[1][:4] == ("payments", "7", "timeout after <*> ms", 15)

    # Per hour: every hour of the range, rows and errors as otel_logs counts them.
    hours = _sheet(book, "Per hour")
    assert hours[0] == ("Hour (UTC)", "Rows", "Warnings", "Errors")
    by_hour = dict(
        clickhouse.query(
            "SELECT toStartOfHour(TimestampTime), (count(), countIf(SeverityNumber >= 17)) "
            "FROM otel_logs GROUP BY 1"
        ).result_rows
    )
    assert len(hours) - 1 in (2, 3)  # the range's 2 hours, on 2 or 3 clock hours
    for hour, n, _warnings, n_errors in hours[1:]:
        assert (n, n_errors) == by_hour.get(hour, (0, 0))
    assert sum(row[1] for row in hours[1:]) == 26

    summary = {row[0]: row[1] for row in _sheet(book, "Summary")}
    assert summary["Rows selected"] == 26 and summary["Rows on the Rows sheet"] == 26
    assert summary["Service"] == "(all)" and "Note" not in summary


def test_xlsx_rows_sheet_is_cut_at_its_row_cap_with_a_note(cli, clickhouse, tmp_path):
    span = TimeRange.parse("2h", "now")
    selection = Selection(span.since, span.until, "payments")
    expected = _csv_rows(cli, tmp_path, "--since", "2h", "--service", "payments")
    assert len(expected) == 15

    out = tmp_path / "cut.xlsx"
    written = workbook.write(clickhouse, selection, out, max_rows=10)
    assert written == workbook.Written(selected=15, shown=8, cut=True)
    book = openpyxl.load_workbook(out, read_only=True)
    rows = _sheet(book, "Rows")
    assert len(rows) == 10  # the header, 8 rows and the note, in the cap's 10 rows
    body = rows[0].index("Body")
    assert [row[body] for row in rows[1:9]] == [row["Body"] for row in expected[:8]]
    assert rows[9][0].startswith(
        "CUT: an Excel sheet holds 1,048,576 rows: the Rows sheet has the first 8 of 15 selected"
    )
    summary = {row[0]: row[1] for row in _sheet(book, "Summary")}
    assert summary["Rows selected"] == 15 and summary["Rows on the Rows sheet"] == 8
    assert "the first 8 of 15 selected rows" in summary["Note"]
    # The summaries count every selected row, not only those on the Rows sheet.
    services = _sheet(book, "Services")
    assert services[-1][0] == "Total" and services[-1][-1] == 15

    # A selection that fills the cap exactly is not cut.
    whole = workbook.write(clickhouse, selection, tmp_path / "whole.xlsx", max_rows=16)
    assert whole == workbook.Written(selected=15, shown=15, cut=False)
    rows = _sheet(openpyxl.load_workbook(tmp_path / "whole.xlsx", read_only=True), "Rows")
    assert len(rows) == 16 and rows[-1][body] == expected[-1]["Body"]
