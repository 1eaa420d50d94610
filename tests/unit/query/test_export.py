"""Export options checked before any query runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.query.export import ExportError, Selection, check, min_severity


@pytest.mark.parametrize(
    ("text", "number"), [("ERROR", 17), ("warn", 13), ("Fatal", 21), ("trace", 1), ("18", 18)]
)
def test_severity_names_and_numbers(text, number):
    assert min_severity(text) == number


@pytest.mark.parametrize("text", ["WARNING'; --", "0", "25", "", "UNSPECIFIED"])
def test_unknown_severity_lists_the_levels(text):
    with pytest.raises(ExportError, match="TRACE, DEBUG, INFO, WARN, ERROR or FATAL"):
        min_severity(text)


def test_check_refuses_before_querying(tmp_path: Path):
    check("csv", True, tmp_path / "x.csv.gz")
    with pytest.raises(ExportError, match="drop --gzip"):
        check("parquet", True, tmp_path / "x.parquet")
    with pytest.raises(ExportError, match="not one of csv, jsonl, parquet"):
        check("xml", False, tmp_path / "x.xml")
    with pytest.raises(ExportError, match="does not exist"):
        check("csv", False, tmp_path / "missing" / "x.csv")


def test_selection_parameters_carry_the_user_values_unformatted():
    when = datetime(2026, 1, 1, tzinfo=UTC)
    params = Selection(when, when, "x' OR '1'='1", 17).parameters()
    assert params == {"since": when, "until": when, "service": "x' OR '1'='1", "severity": 17}
