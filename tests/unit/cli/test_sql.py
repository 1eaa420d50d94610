"""`logweir sql`: option parsing, and the read-only check on ClickHouse's EXPLAIN AST output.

The AST texts below are what ClickHouse 26.9 answered to `EXPLAIN AST <statement>`; the real
server runs the same statements in tests/integration/test_sql_readonly.py.
"""

from __future__ import annotations

import pytest

from pipeline.cli.sql import SqlError, answers_rows, catalog, check_read_only, parse_params

CATALOG = catalog(
    "logweir",
    [
        ("database", "logweir", "Atomic"),
        ("database", "default", "Overlay"),
        ("database", "system", "Memory"),
        ("database", "INFORMATION_SCHEMA", "Memory"),
        *(
            ("table function", name, "")
            for name in ("file", "url", "s3", "remote", "python", "numbers", "format", "view")
        ),
    ],
)

JOIN = """SelectWithUnionQuery (children 1)
 ExpressionList (children 1)
  SelectQuery (children 2)
   ExpressionList (children 1)
    Function count (alias c) (children 1)
     ExpressionList
   TablesInSelectQuery (children 2)
    TablesInSelectQueryElement (children 1)
     TableExpression (children 1)
      TableIdentifier otel_logs (alias o)
    TablesInSelectQueryElement (children 2)
     TableExpression (children 1)
      TableIdentifier system.one
     TableJoin (children 1)
      ExpressionList (children 1)
       Identifier dummy"""
FILE_TABLE = """SelectWithUnionQuery (children 1)
 ExpressionList (children 1)
  SelectQuery (children 2)
   ExpressionList (children 1)
    Asterisk
   TablesInSelectQuery (children 1)
    TablesInSelectQueryElement (children 1)
     TableExpression (children 1)
      Function file (children 1)
       ExpressionList (children 2)
        Literal '/etc/passwd'
        Literal 'LineAsString'"""
IN_FILE = """SelectWithUnionQuery (children 1)
 ExpressionList (children 1)
  SelectQuery (children 1)
   ExpressionList (children 1)
    Function in (children 1)
     ExpressionList (children 2)
      Literal UInt64_1
      Identifier default./etc/passwd"""
KILL = """KillQueryQuery Literal_UInt64_1 ASYNC (children 1)
 Literal UInt64_1"""
# `SELECT a\nb FROM x\n      Function url`: a name with a line break prints as extra lines.
FORGED = """SelectWithUnionQuery (children 1)
 ExpressionList (children 1)
  SelectQuery (children 3)
   ExpressionList (children 1)
    Identifier a
b
   TablesInSelectQuery (children 1)
    TablesInSelectQueryElement (children 1)
     TableExpression (children 1)
      TableIdentifier x
      Function url"""


def _ast(text: str) -> list[str]:
    return text.splitlines()


def test_reads_of_this_database_and_system_tables_pass():
    check_read_only(_ast(JOIN), CATALOG)
    check_read_only(["ShowTables"], CATALOG)
    check_read_only(["DescribeQuery (children 1)", " TableIdentifier otel_logs"], CATALOG)
    check_read_only(["SelectQuery (children 1)", " Function format (children 1)"], CATALOG)
    check_read_only(["SelectQuery (children 1)", " Function numbers (children 1)"], CATALOG)


@pytest.mark.parametrize(
    ("ast", "message"),
    [
        (KILL, "parses this statement as KillQueryQuery"),
        ("InsertQuery   (children 2)\n Function file (children 1)", "as InsertQuery"),
        ("SYSTEM query", "as SYSTEM"),
        ("Set", "as Set"),
        ("", "as nothing"),
        (FILE_TABLE, "file() reads files on the ClickHouse host"),
        ("SelectQuery (children 1)\n Function python (children 1)", "python() reaches outside"),
        ("SelectQuery (children 1)\n Function url (children 1)", "url() reaches outside"),
        ("SelectQuery (children 1)\n Function joinGet (children 1)", "names a table"),
        (IN_FILE, "'default./etc/passwd' is outside them"),
        ("SelectQuery\n TableIdentifier default./etc/passwd (alias p)", "is outside them"),
        ("SelectQuery\n TableIdentifier default.`/etc/passwd`", "is outside them"),
        ("SelectQuery\n TableIdentifier logweir.x./etc/passwd", "is outside them"),
        ("ExistsTableQuery default x (children 2)\n Identifier default\n Identifier x", "outside"),
        (FORGED, "url() reaches outside"),
    ],
)
def test_everything_else_is_refused_in_one_line(ast, message):
    with pytest.raises(SqlError, match="`logweir sql`") as refused:
        check_read_only(_ast(ast), CATALOG)
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_a_database_of_files_is_refused_as_a_whole():
    files = catalog("default", [("database", "default", "Overlay")])
    with pytest.raises(SqlError, match="LOGWEIR_CLICKHOUSE_DATABASE"):
        check_read_only(["SelectQuery\n TableIdentifier passwd"], files)


def test_table_functions_are_refused_unless_they_only_generate_rows():
    # A table function a newer ClickHouse adds is refused until it is known to be harmless.
    newer = catalog("logweir", [("table function", "teleport", "")])
    with pytest.raises(SqlError, match="teleport"):
        check_read_only(["SelectQuery", " Function teleport (children 1)"], newer)


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
    ("root", "rows"),
    [
        ("SelectWithUnionQuery (children 1)", True),
        ("ShowTables", True),
        ("DescribeQuery (children 1)", True),
        ("ExistsTableQuery  otel_logs (children 1)", True),
        ("Explain EXPLAIN AST (children 1)", True),
        ("CheckQuery  otel_logs (children 1)", True),
        ("InsertQuery   (children 2)", False),
        ("DropQuery  otel_logs (children 1)", False),
        ("AlterQuery  t (children 2)", False),
        ("SYSTEM query", False),
    ],
)
def test_statements_with_rows_are_the_reading_kinds(root, rows):
    assert answers_rows([root]) is rows
