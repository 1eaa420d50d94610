"""`logweir sql "SELECT …"`: ad-hoc SQL against the logweir database, read-only by default.

Read-only is decided by ClickHouse twice. The statement runs with readonly=1 (no writes, no
schema changes, no settings, no table function that needs a temporary table: file(), url(), s3(),
remote() …). Before that, ClickHouse's own parser (`EXPLAIN AST`) shows what the statement is,
and only reads of this database and the system tables pass. readonly=1 alone was measured to let
through, on ClickHouse 26.9: the file() *function* (reads any file on clickhouse-local), tables of
clickhouse-local's `default` database (any file path is a table there), KILL QUERY (it ends the
same user's other queries, such as the worker's inserts), and the `python()` table function,
which crashes the local server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import typer

from pipeline.cli.output import console
from pipeline.cli.rows import Format, show
from pipeline.errors import LogweirError, first_line
from pipeline.settings import Settings

# AST kinds (first line of EXPLAIN AST) that only read: SELECT/WITH/UNION, SHOW …, DESCRIBE,
# EXISTS, EXPLAIN, CHECK TABLE. Everything else (InsertQuery, AlterQuery, KillQueryQuery,
# "SYSTEM query", Set, BackupQuery …) is refused without running.
READ_KINDS = ("Select", "Show", "Describe", "Exists", "Explain", "Check")
# Table functions that make rows from their own arguments or wrap a subquery (whose AST is
# checked like the rest). Every other name in system.table_functions is refused, so a function
# a newer ClickHouse adds is refused until it is listed here. `format` is also a string function.
ROW_GENERATORS = frozenset(
    {
        "numbers",
        "numbers_mt",
        "zeros",
        "zeros_mt",
        "generaterandom",
        "generateseries",
        "generate_series",
        "primes",
        "values",
        "sqlstandardvalues",
        "null",
        "view",
        "viewifpermitted",
        "format",
    }
)
# Ordinary functions that reach past the table checks below.
OUTSIDE_FUNCTIONS = {
    "file": "reads files on the ClickHouse host",
    "hascolumnintable": "names a table in a string",
    "joinget": "names a table in a string",
    "joingetornull": "names a table in a string",
}
SCHEMA_DATABASES = frozenset({"system", "information_schema", "INFORMATION_SCHEMA"})
# Database engines whose tables are files or other systems; clickhouse-local's `default` is an
# Overlay that maps any file path to a table.
FILE_ENGINES = frozenset({"Overlay", "Filesystem", "S3", "HDFS"})

# One line of EXPLAIN AST is "<indent><Kind> <detail> (alias a) (children n)"; the detail of a
# Function or (Table)Identifier is its name.
_ANNOTATIONS = re.compile(r"(?: \(alias .*\))?(?: \(children \d+\))?\Z", re.DOTALL)
_TSV_ESCAPE = re.compile(r"\\(.)")
_TSV_CHARS = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f"}
_CATALOG = (
    "SELECT 'database', name, engine FROM system.databases "
    "UNION ALL SELECT 'table function', name, '' FROM system.table_functions"
)


class SqlError(LogweirError):
    """A statement refused as not read-only, one ClickHouse refused, or a bad --param."""


@dataclass(frozen=True, slots=True)
class Catalog:
    """What the server has that a statement could reach: its databases and table functions."""

    database: str
    engines: dict[str, str]
    table_functions: frozenset[str]


def sql(
    statement: Annotated[
        str,
        typer.Argument(help="one SQL statement; {name:Type} placeholders are filled from --param"),
    ],
    param: Annotated[
        list[str] | None, typer.Option(help="NAME=VALUE for a {NAME:Type} placeholder, repeatable")
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="table, json (lines) or csv")
    ] = Format.table,
    allow_write: Annotated[
        bool,
        typer.Option(
            "--allow-write",
            help="for operators: run with the ClickHouse user's full rights (INSERT, ALTER, "
            "DROP, CREATE, SET, SYSTEM, KILL, and table functions that read or write files, "
            "URLs and other servers)",
        ),
    ] = False,
) -> None:
    """Run one SQL statement in the logweir database.

    Read-only unless --allow-write: SELECT, SHOW, DESCRIBE, EXISTS, EXPLAIN on this database and
    the system tables, under ClickHouse readonly=1 (no SETTINGS clause, no file(), url(), s3(),
    remote() …).
    """
    from clickhouse_connect.driver.exceptions import ClickHouseError

    from pipeline.clickhouse import connect, read_only

    parameters = parse_params(param or [])
    settings = Settings()
    client = connect(settings)
    # --allow-write sends no settings: the statement keeps every right of the ClickHouse user.
    query_settings = {} if allow_write else read_only()
    try:
        # Raw text: a FORMAT clause added to EXPLAIN would become part of the explained
        # statement; the answer comes in the server's default format, one AST node a line.
        explained = client.raw_query(
            "EXPLAIN AST\n" + statement, parameters=parameters, settings=query_settings
        )
        ast = [_unescape(line) for line in explained.decode(errors="replace").splitlines()]
        if not allow_write:
            rows = client.query(_CATALOG, settings=query_settings).result_rows
            check_read_only(ast, catalog(settings.clickhouse_database, rows))
        if answers_rows(ast):
            result = client.query(statement, parameters=parameters, settings=query_settings)
            show(result.column_names, result.result_rows, fmt)
        else:
            summary = client.command(statement, parameters=parameters, settings=query_settings)
            written = getattr(summary, "written_rows", None)
            console.print("done" + (f": {written} rows written" if written else ""))
    except ClickHouseError as exc:
        message = first_line(exc)
        if "(READONLY)" in message:
            raise SqlError(
                f"`logweir sql` is read-only (ClickHouse readonly=1) and ClickHouse refused "
                f"this: {message}; an operator can run it with --allow-write"
            ) from exc
        raise SqlError(f"ClickHouse refused the statement: {message}") from exc


def catalog(database: str, rows: Sequence[Sequence[object]]) -> Catalog:
    """The answer to _CATALOG, for check_read_only."""
    engines = {str(name): str(engine) for kind, name, engine in rows if kind == "database"}
    functions = frozenset(str(name).lower() for kind, name, _ in rows if kind == "table function")
    return Catalog(database, engines, functions)


def check_read_only(ast: list[str], catalog: Catalog) -> None:
    """Refuse a statement whose AST (ClickHouse's EXPLAIN AST lines) does more than read the
    configured database and the system tables.

    Only a node's own line is looked at, never its position in the tree: a name holding a line
    break shows up as extra lines, which can add a refusal but never hide a node.
    """
    nodes = [_node(line) for line in ast if line.strip()]
    if not nodes or not nodes[0][0].startswith(READ_KINDS):
        kind = nodes[0][0] if nodes else "nothing"
        raise SqlError(
            f"`logweir sql` only reads (SELECT, SHOW, DESCRIBE, EXISTS, EXPLAIN) and ClickHouse "
            f"parses this statement as {kind}: an operator can run it with --allow-write"
        )
    database = catalog.database
    if catalog.engines.get(database) in FILE_ENGINES:
        raise SqlError(
            f"database {database!r} is a {catalog.engines[database]} database whose tables are "
            "files: `logweir sql` refuses it; set LOGWEIR_CLICKHOUSE_DATABASE to logweir's own"
        )
    readable = SCHEMA_DATABASES | {database}
    others = set(catalog.engines) - readable
    refused = (catalog.table_functions - ROW_GENERATORS) | set(OUTSIDE_FUNCTIONS)
    for kind, name in nodes:
        if kind == "Function" and name.lower() in refused:
            why = OUTSIDE_FUNCTIONS.get(
                name.lower(), "reaches outside ClickHouse's tables (files, URLs, other servers)"
            )
            raise SqlError(
                f"`logweir sql` is read-only and {name}() {why}: query the tables of database "
                f"{database!r} instead (an operator can run it with --allow-write)"
            )
        # After FROM/JOIN/DESCRIBE a name is `table` or `db.table` with db readable. The AST
        # prints it unquoted, so a further dot (`a.b`.`c`, or a table name with a dot) is
        # ambiguous and refused. Elsewhere an identifier names a table when it starts with a
        # database name (`x IN db.table`, EXISTS db.table); a column named so is refused too.
        plain = name.replace("`", "").replace('"', "")
        outside = (
            kind == "TableIdentifier"
            and "." in plain
            and (plain.split(".", 1)[0] not in readable or plain.count(".") > 1)
        ) or (
            kind == "Identifier" and any(plain.startswith(f"{db}.") or plain == db for db in others)
        )
        if outside:
            raise SqlError(
                f"`logweir sql` reads only database {database!r} and the system tables, and "
                f"{name!r} is outside them"
            )


def answers_rows(ast: list[str]) -> bool:
    """Whether a statement answers with rows (SELECT …) rather than running as a command."""
    return bool(ast) and _node(ast[0])[0].startswith(READ_KINDS)


def parse_params(pairs: list[str]) -> dict[str, str]:
    """`--param name=value` pairs; values stay text, ClickHouse converts them to the Type."""
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise SqlError(f"--param {pair!r} is not NAME=VALUE, e.g. --param service=checkout")
        found[name.strip()] = value
    return found


def _node(line: str) -> tuple[str, str]:
    """(kind, detail) of one EXPLAIN AST line."""
    kind, _, detail = line.strip().partition(" ")
    return kind, _ANNOTATIONS.sub("", detail.strip())


def _unescape(line: str) -> str:
    """A TabSeparated value as text (`\\'` → `'`, `\\\\` → `\\`)."""
    return _TSV_ESCAPE.sub(lambda m: _TSV_CHARS.get(m.group(1), m.group(1)), line)
