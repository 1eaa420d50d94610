"""The `logweir` command: one Typer app, a module per command group."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from pipeline.cli import (
    alerts,
    backup,
    bench,
    db,
    demo,
    export,
    formats,
    gen,
    intake,
    produce,
    query,
    ship,
    sql,
    stack,
    status,
    tail,
    worker,
)
from pipeline.cli.output import print_error
from pipeline.errors import LogweirError
from pipeline.settings import invalid_settings

app = typer.Typer(
    help="logweir: Kafka in, parsed and enriched logs in ClickHouse, alerts out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(stack.app, name="stack")
app.add_typer(db.app, name="db")
app.add_typer(alerts.app, name="alerts")
app.add_typer(formats.app, name="formats")
app.add_typer(backup.app, name="backup")
app.command()(worker.worker)
app.command()(produce.produce)
app.command()(ship.ship)
app.command()(gen.gen)
app.command()(demo.demo)
app.command()(bench.bench)
app.command()(query.query)
app.command()(sql.sql)
app.command()(export.export)
app.command()(status.status)
app.command()(backup.restore)
app.command()(tail.tail)
app.command()(intake.intake)


def main() -> None:
    try:
        app()
    except (LogweirError, ValidationError) as exc:
        message = invalid_settings(exc) if isinstance(exc, ValidationError) else str(exc)
        print_error(message)
        sys.exit(1)
