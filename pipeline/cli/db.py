"""`logweir db …`: the ClickHouse schema."""

from __future__ import annotations

import typer

from pipeline.cli.output import console
from pipeline.ops import migrations
from pipeline.settings import Settings

app = typer.Typer(help="ClickHouse schema.", no_args_is_help=True)


@app.command("migrate")
def migrate_command() -> None:
    """Apply pending ClickHouse migrations (also done at worker start-up)."""
    migrate(Settings())


def migrate(settings: Settings) -> None:
    applied = migrations.apply(settings)
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "none pending"
    console.print(f"schema      {settings.clickhouse_database}: {names}")
