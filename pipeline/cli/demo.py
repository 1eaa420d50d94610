"""`logweir demo`: the main job end to end on the local stack, with sample traffic."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli import stack
from pipeline.cli.output import console, progress
from pipeline.errors import LogweirError
from pipeline.settings import Settings


def demo(
    count: Annotated[int, typer.Option(help="sample log lines to publish")] = 20_000,
    timeout: Annotated[float, typer.Option(help="seconds to wait for every row")] = 180.0,
) -> None:
    """Start the stack and a worker, publish sample traffic, and show it queried from ClickHouse."""
    from pipeline.bench.accounting import account
    from pipeline.bench.producer import produce as send
    from pipeline.bench.sample import SampleTraffic, bad_inputs
    from pipeline.clickhouse import connect
    from pipeline.stack.child import worker

    settings = Settings()
    stack.up()
    worker_log = settings.state_dir / "worker.log"
    console.print(f"worker      starting (log: {worker_log})")
    proc = worker(settings, worker_log).start()
    # Sample lines carry the current time; a minute of slack covers clock rounding.
    since = datetime.now(UTC) - timedelta(minutes=1)
    try:
        messages = list(SampleTraffic(seed=int(time.time())).lines(count)) + bad_inputs()
        with progress() as bars:
            task = bars.add_task("publishing to " + settings.topic_raw, total=len(messages))
            produced = asyncio.run(
                send(settings, messages, on_progress=lambda n: bars.advance(task, n))
            )
            task = bars.add_task("stored in ClickHouse", total=produced.count)
            client = connect(settings)
            deadline = time.monotonic() + timeout
            while True:
                accounted = account(client, produced, since)
                bars.update(task, completed=accounted.messages)
                if accounted.messages >= produced.count:
                    break
                if not proc.alive() or time.monotonic() > deadline:
                    raise LogweirError(
                        f"only {accounted.messages}/{produced.count} messages reached ClickHouse. "
                        f"Last lines of {worker_log}:\n" + proc.log_tail(15)
                    )
                time.sleep(0.5)
        _show_results(client, produced.topic, accounted, settings)
    finally:
        proc.stop(20)
    console.print("\nThe stack is still running: `logweir stack down` stops it.")


def _show_results(client, topic: str, accounted, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    console.print(
        f"\n[bold]{accounted.stored}[/bold] rows stored, [bold]{accounted.dead_lettered}"
        f"[/bold] dead-lettered, {accounted.duplicates} duplicates."
    )
    # Service × severity as a grid, then formats: what was stored, at a glance.
    rows = client.query(
        "SELECT ServiceName, if(SeverityText = '', '-', SeverityText), count() FROM otel_logs "
        "WHERE TimestampTime >= now() - INTERVAL 15 MINUTE AND KafkaTopic = {topic:String} "
        "GROUP BY ALL",
        parameters={"topic": topic},
    ).result_rows
    levels = ["-", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
    present = [lvl for lvl in levels if any(r[1] == lvl for r in rows)]
    grid = Table(title="rows by service and severity (last 15 minutes)")
    grid.add_column("service")
    for level in present:
        grid.add_column(level, justify="right")
    counts = {(service, level): n for service, level, n in rows}
    for service in sorted({r[0] for r in rows}):
        grid.add_row(service, *(str(counts.get((service, lvl), 0)) for lvl in present))
    console.print(grid)
    formats = client.query(
        "SELECT LogFormat, count() FROM otel_logs WHERE TimestampTime >= now() - INTERVAL "
        "15 MINUTE AND KafkaTopic = {topic:String} GROUP BY LogFormat ORDER BY count() DESC",
        parameters={"topic": topic},
    ).result_rows
    console.print("formats detected: " + ", ".join(f"{fmt} {n}" for fmt, n in formats))
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
        f'    "SELECT ServiceName, count() FROM {settings.clickhouse_database}.otel_logs '
        'WHERE SeverityNumber >= 17 GROUP BY ServiceName FORMAT PrettyCompact"\n'
        f"  SELECT Timestamp, ServiceName, Body FROM {settings.clickhouse_database}.otel_logs "
        "WHERE Body ILIKE '%timeout%' ORDER BY Timestamp DESC LIMIT 20"
    )
