"""Result rows on stdout: a rich table for people, JSON lines or CSV for scripts."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import orjson
from rich.table import Table
from rich.text import Text

from pipeline.cli.output import console

# Longer cell text is cut in the table view only; json and csv carry every character.
MAX_CELL = 160


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def show(
    columns: Sequence[str], rows: Sequence[Sequence[object]], fmt: Format, title: str | None = None
) -> None:
    if fmt is Format.json:
        for row in rows:
            sys.stdout.buffer.write(
                orjson.dumps(dict(zip(columns, row, strict=True)), default=_plain) + b"\n"
            )
        sys.stdout.flush()
    elif fmt is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(value) for value in row] for row in rows)
    else:
        table = Table(title=title, caption=f"{len(rows)} rows")
        for column, sample in zip(columns, rows[0] if rows else [None] * len(columns), strict=True):
            numeric = isinstance(sample, int | float | Decimal) and not isinstance(sample, bool)
            table.add_column(column, justify="right" if numeric else "left", overflow="fold")
        for row in rows:
            # Text, not markup: a log body may contain [brackets] rich would interpret.
            table.add_row(*(Text(_short(_display(value))) for value in row))
        console.print(table)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dict | list | tuple):
        return orjson.dumps(value, default=_plain).decode()
    return str(value)


def _display(value: object) -> str:
    """A cell for people: times to the millisecond (full precision stays in json and csv)."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="milliseconds")
    return _cell(value)


def _short(text: str) -> str:
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _plain(value: object) -> str:
    """What orjson cannot serialize itself (Decimal, IP addresses, bytes) as text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
