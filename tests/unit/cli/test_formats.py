"""`logweir formats check|test`: the checks the worker makes at start-up, from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline import parsing
from pipeline.cli import app
from pipeline.errors import LogweirError
from pipeline.parsing import user_formats

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "deploy" / "formats" / "formats.example.yaml"
PG_LINE = (
    '2024-03-05 14:02:11.123 UTC [12346] app@shop/billing ERROR:  relation "orders" does not '
    "exist at character 15"
)


@pytest.fixture(autouse=True)
def environment(monkeypatch) -> Iterator[None]:
    for name in ("LOGWEIR_FORMATS_FILE", "LOGWEIR_TOPIC_FORMATS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    yield
    user_formats.install(None, parsing.load())  # `formats test` registers the file's formats


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), input=stdin)


def test_check_lists_the_formats_of_a_valid_file_and_how_each_is_chosen(monkeypatch):
    monkeypatch.setenv("LOGWEIR_TOPIC_FORMATS", '{"logs.raw.postgres": "postgresql"}')
    result = run("formats", "check", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert "4 format(s), no problems" in result.stdout
    for expected in (
        "topic logs.raw.postgres",
        "header format: haproxy_http",
        "detection: lines starting A D F J M-O S, rank 5, with a guard",
        "logger ← logger",
        "thread.name",
    ):
        assert expected in result.stdout


def test_check_reads_the_file_the_worker_would(monkeypatch):
    monkeypatch.setenv("LOGWEIR_FORMATS_FILE", str(EXAMPLE))
    assert run("formats", "check").exit_code == 0


def test_check_names_every_problem_with_file_line_format_and_field(tmp_path):
    path = tmp_path / "formats.yaml"
    path.write_text(
        "formats:\n"
        "  web:\n"
        "    pattern: '%{IPV4:client} %{HTTPDATES:time} %{GREEDYDATA:message}'\n"
        "  api:\n"
        "    pattern: '(?<message>.*)'\n"
        "    columns: {time: stamp}\n"
    )
    result = run("formats", "check", str(path))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines == [
        f"error: {path}:3:14: formats.web.pattern: unknown grok pattern %{{HTTPDATES}} "
        "(did you mean HTTPDATE?) (at character 16)",
        f"error: {path}:6:21: formats.api.columns.time: the pattern has no group 'stamp' "
        "(its groups: message)",
        f"2 problem(s) in {path}",
    ]


def test_check_points_at_a_yaml_syntax_error(tmp_path):
    path = tmp_path / "formats.yaml"
    path.write_text("formats:\n  web:\n    pattern: '%{IP:client}\n  other: x\n")
    result = run("formats", "check", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}:5:1: YAML: ")


def test_check_refuses_a_topic_naming_a_format_nobody_has(monkeypatch):
    monkeypatch.setenv("LOGWEIR_TOPIC_FORMATS", '{"logs.raw.db": "postgres"}')
    result = run("formats", "check", str(EXAMPLE))
    assert result.exit_code == 1
    assert "LOGWEIR_TOPIC_FORMATS['logs.raw.db'] names unknown format 'postgres'" in result.stderr


def test_check_without_a_file_says_how_to_give_one():
    result = run("formats", "check")
    assert isinstance(result.exception, LogweirError)
    assert "set LOGWEIR_FORMATS_FILE" in str(result.exception)


def test_test_shows_the_columns_a_line_becomes():
    result = run("formats", "test", "postgresql", PG_LINE, "--file", str(EXAMPLE), "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["matched"] is True
    assert {k: shown[k] for k in ("LogFormat", "Timestamp", "SeverityText", "ServiceName")} == {
        "LogFormat": "postgresql",
        "Timestamp": "2024-03-05T14:02:11.123000000Z",
        "SeverityText": "ERROR",
        "ServiceName": "billing",
    }
    assert shown["LogAttributes"] == {"process.pid": "12346", "db.user": "app", "db.name": "shop"}
    assert shown["Body"] == 'relation "orders" does not exist at character 15'


def test_test_explains_a_line_that_does_not_match_and_what_detection_makes_of_it():
    line = "2024-03-05 14:02:11.123 UTC [12346] app@shop/billing OOPS:  x"
    result = run("formats", "test", "postgresql", line, "--file", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert "no match" in result.stdout and "format_mismatch" in result.stdout
    shown = json.loads(
        run("formats", "test", "postgresql", line, "--file", str(EXAMPLE), "--json").stdout
    )
    assert shown["matched"] is False
    assert shown["why"] == (
        "the line matches the pattern up to `…@%{NOTSPACE:db.name}/%{DATA:service} )?`, then "
        "the pattern expects `%{PG_LEVEL:level}:  %{GREEDYDATA:messag…` where the line has "
        "'OOPS:  x'"
    )
    assert (shown["LogFormat"], shown["flags"]) == ("text", ["format_mismatch"])


def test_test_reads_lines_from_stdin_and_knows_builtin_formats():
    result = run("formats", "test", "logfmt", "--json", stdin="level=warn msg=hi\nmsg=two\n")
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert (first["SeverityText"], first["Body"], second["Body"]) == ("WARN", "hi", "two")


def test_test_an_unknown_format_lists_the_known_ones():
    result = run("formats", "test", "nginx", "x", "--file", str(EXAMPLE))
    assert isinstance(result.exception, LogweirError)
    assert "unknown format 'nginx'" in str(result.exception)
    assert "haproxy_http" in str(result.exception)
