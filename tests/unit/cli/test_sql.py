"""`logweir sql` option parsing and which statements answer with rows."""

from __future__ import annotations

import pytest

from pipeline.cli.sql import SqlError, answers_rows, parse_params


def test_params_are_name_value_pairs_kept_as_text():
    assert parse_params(["service=checkout", "q=a=b", "empty="]) == {
        "service": "checkout",
        "q": "a=b",
        "empty": "",
    }


@pytest.mark.parametrize("pair", ["noequals", "=x", "bad name=x", "1x=2"])
def test_bad_params_show_the_expected_shape(pair):
    with pytest.raises(SqlError, match="NAME=VALUE"):
        parse_params([pair])


@pytest.mark.parametrize(
    ("statement", "rows"),
    [
        ("SELECT 1", True),
        ("  with x as (select 1) select * from x", True),
        ("SHOW TABLES", True),
        ("(SELECT 1) UNION ALL (SELECT 2)", True),
        ("DESCRIBE otel_logs", True),
        ("INSERT INTO t VALUES (1)", False),
        ("DROP TABLE otel_logs", False),
        ("ALTER TABLE t DELETE WHERE 1", False),
        ("SELECTION", False),
    ],
)
def test_statements_with_rows_are_queries(statement, rows):
    assert answers_rows(statement) is rows
