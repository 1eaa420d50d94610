"""`logweir export`: otel_logs rows in a time range to a CSV, JSON-lines, Parquet or xlsx file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from pipeline.cli.output import console, err_console, progress
from pipeline.settings import Settings

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from pipeline.query.export import Selection


def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="file to write")],
    since: Annotated[
        str, typer.Option(help="start: a duration ago (15m, 1h, 7d) or ISO time")
    ] = "1h",
    until: Annotated[str, typer.Option(help="end: `now`, a duration ago or ISO time")] = "now",
    service: Annotated[str, typer.Option(help="only this service (ServiceName)")] = "",
    severity: Annotated[str | None, typer.Option(help="this level and above, e.g. ERROR")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, jsonl, parquet or xlsx")] = "jsonl",
    gzip: Annotated[bool, typer.Option("--gzip", help="gzip the file (csv and jsonl)")] = False,
) -> None:
    """Export log rows to a file, streamed from ClickHouse in constant memory."""
    from pipeline.clickhouse import connect
    from pipeline.query.export import XLSX, Selection, check, count, min_severity, write
    from pipeline.query.timerange import TimeRange

    check(fmt, gzip, output)
    span = TimeRange.parse(since, until)
    selection = Selection(
        span.since, span.until, service, min_severity(severity) if severity is not None else 0
    )
    client = connect(Settings())
    rows = count(client, selection)
    if fmt == XLSX:
        _workbook(client, selection, output, rows)
        return
    bars = Progress(
        TextColumn("{task.description}"),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with bars:
        task = bars.add_task(f"exporting {rows} rows", total=None)
        sent = write(client, selection, fmt, output, gzip, on_bytes=lambda n: bars.advance(task, n))
    size = output.stat().st_size
    console.print(
        f"wrote {rows} rows to {output} ({fmt}{', gzip' if gzip else ''}, "
        f"{size:,} bytes{f' from {sent:,}' if gzip else ''})"
    )


def _workbook(client: Client, selection: Selection, output: Path, rows: int) -> None:
    from pipeline.query import workbook

    bars = progress()
    with bars:
        task = bars.add_task("exporting rows", total=min(rows, workbook.EXCEL_ROWS - 1))
        written = workbook.write(client, selection, output, on_rows=lambda n: bars.advance(task, n))
        # Advanced a block at a time: a cut stops inside the last block.
        bars.update(task, total=written.shown, completed=written.shown)
    if written.cut:
        err_console.print(
            f"[yellow]warning:[/yellow] {written.selected:,} rows selected, Excel holds "
            f"{written.shown:,} of them on the {workbook.ROWS_SHEET} sheet (its last row says "
            "so); the summary sheets count all of them. Use --format csv or parquet for every "
            "row.",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"wrote {written.shown} rows to {output} (xlsx, sheets "
        f"{', '.join(workbook.SHEETS)}; {output.stat().st_size:,} bytes)"
    )
