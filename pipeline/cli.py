"""The `logweir` command: local stack, worker, producing, schema, and the demo."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline import migrations
from pipeline.errors import LogweirError
from pipeline.settings import Settings

app = typer.Typer(
    help="logweir: Kafka in, parsed and enriched logs in ClickHouse, alerts out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(help="The embedded local broker and ClickHouse (no Docker needed).",
                        no_args_is_help=True)
db_app = typer.Typer(help="ClickHouse schema.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)


def main() -> None:
    try:
        app()
    except LogweirError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)


# ── stack ──────────────────────────────────────────────────────────────────────────────


@stack_app.command("up")
def stack_up() -> None:
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
    created = broker.create_topics(
        [settings.topic_raw, settings.topic_deadletter], settings.topic_partitions
    )
    if created:
        console.print(f"topics      created {', '.join(created)} "
                      f"({settings.topic_partitions} partitions)")
    _migrate(settings)
    if fresh_broker:
        _forget_offsets_of_lost_log(settings)


def _forget_offsets_of_lost_log(settings: Settings) -> None:
    from pipeline.clickhouse import connect
    from pipeline.sink import forget_stored_offsets

    topics = [settings.topic_raw]
    if forget_stored_offsets(connect(settings), topics):
        console.print(
            "note        the local broker starts empty, so Kafka offsets restart at 0: rows "
            "already in ClickHouse stay, and the sink's stored-offset marks were reset"
        )


@stack_app.command("down")
def stack_down() -> None:
    """Stop the local broker and ClickHouse (the broker keeps no data across restarts)."""
    from pipeline.stack import Broker, ClickHouseServer

    settings = Settings()
    for name, component in (("clickhouse", ClickHouseServer(settings)),
                            ("broker", Broker(settings))):
        stopped = component.stop()
        console.print(f"{name:<11} {'stopped' if stopped else 'was not running'}")


@stack_app.command("status")
def stack_status() -> None:
    """Show whether the local broker and ClickHouse are up; exit 1 if either is down."""
    from pipeline.stack import Broker, ClickHouseServer

    settings = Settings()
    broker, clickhouse = Broker(settings), ClickHouseServer(settings)
    up = {"broker": broker.running(), "clickhouse": clickhouse.running()}
    console.print(f"broker      {broker.url}  {'up' if up['broker'] else 'down'}")
    console.print(f"clickhouse  {clickhouse.url}  {'up' if up['clickhouse'] else 'down'}")
    if not all(up.values()):
        raise typer.Exit(1)


# ── schema ─────────────────────────────────────────────────────────────────────────────


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending ClickHouse migrations (also done at worker start-up)."""
    _migrate(Settings())


def _migrate(settings: Settings) -> None:
    applied = migrations.apply(settings)
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "none pending"
    console.print(f"schema      {settings.clickhouse_database}: {names}")


# ── worker ─────────────────────────────────────────────────────────────────────────────


@app.command()
def worker(
    loglevel: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Run the stream worker: consume logs.raw, parse, enrich, store in ClickHouse."""
    from faust.worker import Worker

    from agents import build

    settings = Settings()
    _wait_for_clickhouse(settings)
    applied = migrations.apply(settings)
    if applied:
        logging.getLogger("logweir").info("applied migrations: %s",
                                          ", ".join(m.name for m in applied))
    faust_app = build(settings)
    Worker(faust_app, loglevel=loglevel, quiet=True).execute_from_commandline()


def _wait_for_clickhouse(settings: Settings, timeout: float = 30.0) -> None:
    from pipeline.clickhouse import connect
    from pipeline.errors import SinkUnavailable

    deadline = time.monotonic() + timeout
    while True:
        try:
            connect(settings, database="").ping()
            return
        except SinkUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


# ── producing ──────────────────────────────────────────────────────────────────────────


@app.command()
def produce(
    source: Annotated[Path | None, typer.Argument(help="file of log lines; stdin if omitted")]
    = None,
    topic: Annotated[str | None, typer.Option(help="default: LOGWEIR_TOPIC_RAW")] = None,
    key: Annotated[str | None, typer.Option(help="message key, e.g. the service name")] = None,
) -> None:
    """Publish each line of a file (or stdin) as one Kafka message."""
    from pipeline.producer import produce as send

    settings = Settings()
    handle = open(source, "rb") if source else sys.stdin.buffer  # noqa: SIM115
    key_bytes = key.encode() if key else None
    with handle:
        lines = ((key_bytes, line.rstrip(b"\r\n")) for line in handle if line.strip())
        produced = asyncio.run(send(settings, lines, topic))
    console.print(f"produced {produced.count} messages to {produced.topic}")


# ── demo ───────────────────────────────────────────────────────────────────────────────


@app.command()
def demo(
    count: Annotated[int, typer.Option(help="sample log lines to publish")] = 20_000,
    timeout: Annotated[float, typer.Option(help="seconds to wait for every row")] = 180.0,
) -> None:
    """Start the stack and a worker, publish sample traffic, and show it queried from ClickHouse."""
    from pipeline.accounting import account
    from pipeline.clickhouse import connect
    from pipeline.producer import produce as send
    from pipeline.sample import SampleTraffic, bad_inputs

    settings = Settings()
    stack_up()
    worker_log = settings.state_dir / "worker.log"
    console.print(f"worker      starting (log: {worker_log})")
    with open(worker_log, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "worker"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=os.environ.copy(),
        )
    # Sample lines carry the current time; a minute of slack covers clock rounding.
    since = datetime.now(UTC) - timedelta(minutes=1)
    try:
        messages = list(SampleTraffic(seed=int(time.time())).lines(count)) + bad_inputs()
        with _progress() as progress:
            task = progress.add_task("publishing to " + settings.topic_raw, total=len(messages))
            produced = asyncio.run(
                send(settings, messages, on_progress=lambda n: progress.advance(task, n))
            )
            task = progress.add_task("stored in ClickHouse", total=produced.count)
            client = connect(settings)
            deadline = time.monotonic() + timeout
            while True:
                accounted = account(client, produced, since)
                progress.update(task, completed=accounted.total)
                if accounted.total >= produced.count:
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = worker_log.read_text(errors="replace").splitlines()[-15:]
                    raise LogweirError(
                        f"only {accounted.total}/{produced.count} messages reached ClickHouse. "
                        f"Last lines of {worker_log}:\n" + "\n".join(tail)
                    )
                time.sleep(0.5)
        _show_results(client, produced.topic, accounted, settings)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    console.print("\nThe stack is still running: `logweir stack down` stops it.")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


def _show_results(client, topic: str, accounted, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    console.print(
        f"\n[bold]{accounted.stored}[/bold] rows stored, [bold]{accounted.dead_lettered}"
        f"[/bold] dead-lettered, {accounted.duplicates} duplicates."
    )
    by_service = Table(title="rows by service, severity")
    for column in ("service", "severity", "format", "rows"):
        by_service.add_column(column, justify="right" if column == "rows" else "left")
    result = client.query(
        "SELECT ServiceName, SeverityText, LogFormat, count() AS rows FROM otel_logs "
        "WHERE TimestampTime >= now() - INTERVAL 15 MINUTE AND KafkaTopic = {topic:String} "
        "GROUP BY ServiceName, SeverityNumber, SeverityText, LogFormat "
        "ORDER BY ServiceName, SeverityNumber, LogFormat",
        parameters={"topic": topic},
    )
    for service, severity, fmt, rows in result.result_rows:
        by_service.add_row(service, severity or "-", fmt, str(rows))
    console.print(by_service)
    dead = client.query(
        "SELECT Reason, count(), any(Detail) FROM logs_deadletter "
        "WHERE ReceivedAt >= now() - INTERVAL 15 MINUTE GROUP BY Reason ORDER BY Reason"
    ).result_rows
    if dead:
        table = Table(title="dead letters (logs_deadletter)")
        for column in ("reason", "count", "example detail"):
            table.add_column(column)
        for reason, n, detail in dead:
            table.add_row(reason, str(n), detail[:80])
        console.print(table)
    console.print(
        f"\nQuery it yourself ({settings.clickhouse_url}, "
        f"database {settings.clickhouse_database}):\n"
        f"  curl -s {settings.clickhouse_url}/ --data-binary \\\n"
        f"    \"SELECT ServiceName, count() FROM {settings.clickhouse_database}.otel_logs "
        "WHERE SeverityNumber >= 17 GROUP BY ServiceName FORMAT PrettyCompact\"\n"
        f"  SELECT Timestamp, ServiceName, Body FROM {settings.clickhouse_database}.otel_logs "
        "WHERE Body ILIKE '%timeout%' ORDER BY Timestamp DESC LIMIT 20"
    )


if __name__ == "__main__":
    main()
