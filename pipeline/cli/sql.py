"""`logweir sql "SELECT …"`: ad-hoc SQL against the logweir database, read-only by default."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from pipeline.cli.output import console
from pipeline.cli.rows import Format, show
from pipeline.errors import LogweirError
from pipeline.settings import Settings

# Statements that answer with rows; anything else (INSERT, ALTER, …) runs as a command.
_ROWS = re.compile(
    r"^\s*(\(\s*)*(SELECT|WITH|SHOW|DESC|DESCRIBE|EXPLAIN|EXISTS|CHECK)\b", re.IGNORECASE
)
# ClickHouse's error code for a write refused in readonly mode.
_READONLY = "(READONLY)"


class SqlError(LogweirError):
    """A statement ClickHouse refused, or a bad --param."""


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
        bool, typer.Option("--allow-write", help="allow statements that change data or schema")
    ] = False,
) -> None:
    """Run SQL in the logweir database; read-only (ClickHouse readonly=2) unless --allow-write."""
    from clickhouse_connect.driver.exceptions import ClickHouseError

    from pipeline.clickhouse import connect
    from pipeline.reports import first_line

    parameters = parse_params(param or [])
    # readonly=2 still lets the client set per-query settings, which readonly=1 would refuse.
    settings = {} if allow_write else {"readonly": 2}
    client = connect(Settings())
    try:
        if answers_rows(statement):
            result = client.query(statement, parameters=parameters, settings=settings)
            show(result.column_names, result.result_rows, fmt)
        else:
            summary = client.command(statement, parameters=parameters, settings=settings)
            written = getattr(summary, "written_rows", None)
            console.print("done" + (f": {written} rows written" if written else ""))
    except ClickHouseError as exc:
        message = first_line(exc)
        if _READONLY in message:
            raise SqlError(
                "this statement writes and `logweir sql` is read-only "
                "(ClickHouse readonly=2): add --allow-write to run it"
            ) from exc
        raise SqlError(f"ClickHouse refused the statement: {message}") from exc


def answers_rows(statement: str) -> bool:
    return _ROWS.match(statement) is not None


def parse_params(pairs: list[str]) -> dict[str, str]:
    """`--param name=value` pairs; values stay text, ClickHouse converts them to the Type."""
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise SqlError(f"--param {pair!r} is not NAME=VALUE, e.g. --param service=checkout")
        found[name.strip()] = value
    return found
