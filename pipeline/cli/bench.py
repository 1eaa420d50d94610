"""`logweir bench`: measure the pipeline on the local stack and print the figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli import stack
from pipeline.cli.output import console
from pipeline.settings import Settings


def bench(
    events: Annotated[int, typer.Option(help="events per corpus")] = 300_000,
    latency_rate: Annotated[
        float,
        typer.Option(
            help="steady events/s of the latency run; 0: half the one-worker maximum measured "
            "in the same run"
        ),
    ] = 0,
    latency_seconds: Annotated[float, typer.Option(help="0 skips the latency run")] = 20,
    output: Annotated[Path, typer.Option(help="JSON results")] = Path("bench-results.json"),
    realworld: Annotated[
        bool,
        typer.Option(
            "--realworld",
            help="only the labelled real-world set: recognition and grouping per family beside "
            "drain3's (no stack needed; same as python -m pipeline.bench.realworld)",
        ),
    ] = False,
) -> None:
    """End-to-end events/s (single and batched messages, and through the HTTP intake), the
    consume-only and insert-only ceilings, a naive Faust baseline, two workers, p50/p99 latency,
    parse rates per format."""
    if realworld:
        from pipeline.bench import realworld as labelled

        console.print(labelled.table(labelled.evaluate()), highlight=False, soft_wrap=True)
        return
    from pipeline import bench as benchmark

    stack.up()
    results = benchmark.run(
        Settings(),
        events,
        latency_rate,
        latency_seconds,
        lambda text: console.print(f"[dim]…[/dim] {text}"),
    )
    output.write_text(json.dumps(results, indent=2))
    _print(results)
    console.print(f"\nresults written to {output}")


def _print(r: dict) -> None:  # type: ignore[type-arg]
    table = Table(
        title=f"logweir bench, {r['date']}, {r['machine']}, {r['events']} events "
        f"of ~{r['event_bytes_avg']} B, {r['partitions']} partitions"
    )
    for column in ("measure", "value"):
        table.add_column(column)
    for shape in ("single", "batched", "naive", "two_workers"):
        d = r[shape]
        table.add_row(f"{shape}: events/s end to end", f"{d['events_per_s']:,}")
        table.add_row(
            f"{shape}: CPU s per million, peak RSS",
            f"{d['cpu_s_per_million']} s, {d['peak_rss_mb']} MiB",
        )
        table.add_row(
            f"{shape}: cores busy in workers / ClickHouse / broker / elsewhere",
            f"{d['worker_cores']} / {d['clickhouse_cores']} / {d['broker_cores']}"
            f" / {d['other_processes_cores']}",
        )
    for path, d in r.get("single_by_path", {}).items():
        table.add_row(
            f"single, {path} ingest path: events/s, worker CPU s per million",
            f"{d['events_per_s']:,}, {d['cpu_s_per_million']} s",
        )
    if pairs := r.get("cpu_s_per_million_by_path_pairs"):
        table.add_row(
            "single, worker CPU s per million in each pair of drains: columnar / per record",
            ", ".join(f"{p['columnar']} / {p['per_record']}" for p in pairs),
        )
    table.add_row(
        "single: consume-only ceiling (msgs/s)", f"{r['single_consume_only_msgs_per_s']:,}"
    )
    table.add_row(
        "batched: consume-only ceiling (msgs/s)", f"{r['batched_consume_only_msgs_per_s']:,}"
    )
    table.add_row("ClickHouse insert-only ceiling (rows/s)", f"{r['insert_only_rows_per_s']:,}")
    if "intake" in r:
        i = r["intake"]
        table.add_row(
            f"HTTP intake ({i['events_per_request']:g} events a request, {i['connections']} "
            "connections): events/s end to end",
            f"{i['events_per_s']:,} (answered at {i['accepted_events_per_s']:,}/s)",
        )
        table.add_row(
            "HTTP intake: CPU s per million, intake / worker",
            f"{i['intake_cpu_s_per_million']} s / {i['cpu_s_per_million']} s",
        )
        table.add_row(
            "HTTP intake: cores busy in intake / worker / client / ClickHouse / broker / elsewhere",
            f"{i['intake_cores']} / {i['worker_cores']} / {i['client_cores']} / "
            f"{i['clickhouse_cores']} / {i['broker_cores']} / {i['other_processes_cores']}",
        )
    if "latency" in r:
        lat = r["latency"]
        table.add_row(
            f"latency at {lat['rate']:g}/s ({lat['rate_vs_single']}× the one-worker rate): "
            "p50 / p99",
            f"{lat['p50_s']} s / {lat['p99_s']} s",
        )
    for name, value in r["ratios"].items():
        table.add_row(f"ratio {name.replace('_', ' ')}", f"{value}×")
    for fmt, rate in r["parse_lines_per_s"].items():
        table.add_row(f"parse {fmt} (lines/s, one core)", f"{rate:,}")
    console.print(table)
