"""`logweir query NAME`: run a shipped report; `logweir query --list` shows them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pipeline.cli.output import console
from pipeline.cli.rows import Format, show
from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.query.reports import Report


def query(
    name: Annotated[str | None, typer.Argument(help="report name; `list` shows them all")] = None,
    since: Annotated[
        str, typer.Option(help="start: a duration ago (15m, 1h, 7d) or ISO time")
    ] = "1h",
    until: Annotated[str, typer.Option(help="end: `now`, a duration ago or ISO time")] = "now",
    service: Annotated[str, typer.Option(help="only this service (ServiceName)")] = "",
    limit: Annotated[int, typer.Option(help="at most this many rows")] = 20,
    by: Annotated[str, typer.Option(help="column for the `top` report")] = "ServiceName",
    attribute: Annotated[str, typer.Option(help="LogAttributes key for `top-attribute`")] = "",
    step: Annotated[
        str | None, typer.Option(help="bucket size for trends, e.g. 5m; default: about 60 buckets")
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="table, json (lines) or csv")
    ] = Format.table,
    list_reports: Annotated[bool, typer.Option("--list", help="list the reports")] = False,
) -> None:
    """Run a named report (errors, performance, users, top, …) over a time range."""
    from pipeline.clickhouse import connect
    from pipeline.query import reports
    from pipeline.query.timerange import TimeRange, parse_duration

    if list_reports or name in (None, "list"):
        _list(reports.REPORTS)
        return
    report = reports.find(name)
    span = TimeRange.parse(since, until)
    params = reports.Params(
        since=span.since,
        until=span.until,
        service=service,
        limit=limit,
        by=by,
        attribute=attribute,
        step=int(parse_duration(step).total_seconds()) if step else span.step_seconds(),
    )
    result = reports.run(connect(Settings()), report, params)
    title = f"{report.name}: {span.since:%Y-%m-%d %H:%M:%S} – {span.until:%Y-%m-%d %H:%M:%S} UTC"
    show(result.columns, result.rows, fmt, title + (f", service {service}" if service else ""))


def _list(found: Sequence[Report]) -> None:
    table = Table(title="reports: logweir query NAME [--since 1h] [--service S]")
    table.add_column("name")
    table.add_column("what it shows")
    table.add_column("options")
    for report in found:
        extra = [f"--{p}" for p in report.parameters if p in ("by", "attribute", "step")]
        table.add_row(report.name, report.description, " ".join(extra))
    console.print(table)
