"""`logweir stack up|down|status`: the embedded local broker and ClickHouse."""

from __future__ import annotations

import typer

from pipeline.cli.db import migrate
from pipeline.cli.output import console
from pipeline.settings import Settings

app = typer.Typer(
    help="The embedded local broker and ClickHouse (no Docker needed).", no_args_is_help=True
)


@app.command("up")
def up() -> None:
    """Start the local broker and ClickHouse (idempotent), create topics, migrate the schema."""
    from pipeline.stack import Broker, ClickHouseServer

    settings = Settings()
    broker, clickhouse = Broker(settings), ClickHouseServer(settings)
    with console.status("starting the broker…"):
        fresh_broker = broker.start()
    console.print(f"broker      {broker.url}  {'started' if fresh_broker else 'already running'}")
    with console.status("starting ClickHouse…"):
        started = clickhouse.start()
    console.print(f"clickhouse  {clickhouse.url}  {'started' if started else 'already running'}")
    created = broker.create_topics(settings.topics, settings.topic_partitions)
    if created:
        console.print(
            f"topics      created {', '.join(created)} ({settings.topic_partitions} partitions)"
        )
    migrate(settings)
    if fresh_broker:
        console.print(
            "note        the local broker keeps no data across restarts: Kafka offsets start "
            "again at 0, which workers see as a new incarnation of each partition (logged) and "
            "store from its beginning"
        )


@app.command("down")
def down() -> None:
    """Stop the local broker and ClickHouse (the broker keeps no data across restarts)."""
    from pipeline.stack import Broker, ClickHouseServer

    settings = Settings()
    for name, component in (
        ("clickhouse", ClickHouseServer(settings)),
        ("broker", Broker(settings)),
    ):
        stopped = component.stop()
        console.print(f"{name:<11} {'stopped' if stopped else 'was not running'}")


@app.command("status")
def status() -> None:
    """Show whether the local broker and ClickHouse are up; exit 1 if either is down."""
    from pipeline.stack import Broker, ClickHouseServer

    settings = Settings()
    broker, clickhouse = Broker(settings), ClickHouseServer(settings)
    up = {"broker": broker.running(), "clickhouse": clickhouse.running()}
    console.print(f"broker      {broker.url}  {'up' if up['broker'] else 'down'}")
    console.print(f"clickhouse  {clickhouse.url}  {'up' if up['clickhouse'] else 'down'}")
    if not all(up.values()):
        raise typer.Exit(1)
