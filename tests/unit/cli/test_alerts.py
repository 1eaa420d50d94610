"""`logweir alerts check`: a rules file's problems, all of them, on one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "alerts" / "rules.example.yaml"


@pytest.fixture(autouse=True)
def environment(monkeypatch) -> Iterator[None]:
    monkeypatch.delenv("LOGWEIR_RULES_FILE", raising=False)
    # A narrow terminal: a long message must still come out as one line.
    monkeypatch.setenv("COLUMNS", "80")
    yield


def check(path: Path):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["alerts", "check", str(path)])


def test_a_yaml_syntax_error_is_one_line_with_its_line_and_column(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: a\n    condition: {type: threshold, count: 1}}\n")
    result = check(path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {path}:3:43: YAML: while parsing a block mapping expected <block end>, "
        "but found '}'"
    ]


def test_field_errors_and_names_given_twice_come_together_on_one_line(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  - {name: a, condition: {type: threshold, count: 0}}\n"
        "  - {name: a, condition: {type: sometimes}, labels: [x]}\n"
    )
    result = check(path)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.split("; ") == [
        f"error: {path}:2:51: rule 'a', field condition.count: Input should be greater than or "
        "equal to 1",
        f"{path}:3:12: rule 'a', field name: two rules are named 'a' (the first on line 2)",
        f"{path}:3:26: rule 'a', field condition: Input tag 'sometimes' found using 'type' does "
        "not match any of the expected tags: 'absence', 'burst', 'new_template', 'threshold'",
        f"{path}:3:53: rule 'a', field labels: Input should be a valid dictionary",
    ]


def test_a_valid_file_lists_its_rules(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    result = check(EXAMPLE)
    assert result.exit_code == 0, result.output
    assert "service-silent" in result.stdout and "absence" in result.stdout
