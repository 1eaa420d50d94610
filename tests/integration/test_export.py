"""`logweir export`, `query` and `sql` as a user runs them, against a real ClickHouse."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import LogweirError
from tests.support.known_rows import COLUMNS, known_rows
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
