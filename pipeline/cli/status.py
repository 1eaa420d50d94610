"""`logweir status`: a live view of a running worker, from its /metrics and /health."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from pipeline.cli.output import console
from pipeline.errors import LogweirError
from pipeline.observe.scrape import (
    Scrape,
    WorkerUnreachable,
    delta,
    quantile,
    scrape,
    worker_url,
)
from pipeline.settings import Settings

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

RECENT_ROWS = 5


@dataclass
class Frame:
    """Everything one screen shows; `previous` turns counters into rates."""

    url: str
    current: Scrape
    previous: Scrape | None = None
    health: dict[str, Any] | None = None
    alerts: Sequence[Sequence[Any]] = ()
    deadletters: Sequence[Sequence[Any]] = ()
    # Why the ClickHouse panels are empty, or why the view is stale (one line each).
    notes: list[str] = field(default_factory=list)

    def rate(self, name: str) -> float | None:
        if self.previous is None or self.current.at <= self.previous.at:
            return None
        spent = self.current.at - self.previous.at
        return max(0.0, self.current.total(name) - self.previous.total(name)) / spent

    def latency(self, q: float) -> float | None:
        """Quantile of inserts since the previous frame, else since the worker started."""
        name = "logweir_sink_insert_seconds"
        now = self.current.buckets(name)
        if self.previous is not None:
            recent = delta(now, self.previous.buckets(name))
            if recent and recent[-1][1] > 0:
                return quantile(q, recent)
        return quantile(q, now)


def render(frame: Frame) -> RenderableType:
    cur = frame.current
    parts: list[RenderableType] = [_headline(frame), Columns([_throughput(frame), _sink(frame)])]

    lag = Table(title="consumer lag", title_justify="left", expand=False)
    for column in ("topic", "partition", "behind"):
        lag.add_column(column, justify="right" if column != "topic" else "left")
    lags = sorted(
        (dict(k).get("topic", ""), int(dict(k).get("partition", "0")), v)
        for k, v in cur.samples.get("logweir_consumer_lag", {}).items()
    )
    for topic, partition, behind in lags:
        lag.add_row(topic, str(partition), f"{behind:,.0f}")
    if not lags:
        lag.add_row("(no partition fetched yet)", "", "")

    reasons = Table(title="dead letters", title_justify="left")
    reasons.add_column("reason")
    reasons.add_column("count", justify="right")
    for reason, count in sorted(cur.by("logweir_deadletters_total", "reason").items()):
        reasons.add_row(reason, f"{count:,.0f}")
    formats = Table(title="parsed by format", title_justify="left")
    formats.add_column("format")
    formats.add_column("events", justify="right")
    for fmt, count in sorted(cur.by("logweir_parsed_events_total", "format").items()):
        formats.add_row(fmt, f"{count:,.0f}")
    parts.append(Columns([lag, reasons, formats]))

    if frame.alerts:
        alerts = Table(title="recent alerts", title_justify="left")
        for column in ("time", "status", "rule", "summary"):
            alerts.add_column(column)
        for when, status, rule, summary in frame.alerts:
            alerts.add_row(f"{when:%Y-%m-%d %H:%M:%S}", status, rule, summary)
        parts.append(alerts)
    if frame.deadletters:
        recent = Table(title="recent dead letters", title_justify="left")
        for column in ("time", "reason", "source", "detail"):
            recent.add_column(column)
        for when, reason, topic, partition, offset, detail in frame.deadletters:
            recent.add_row(
                f"{when:%Y-%m-%d %H:%M:%S}", reason, f"{topic}[{partition}]@{offset}", detail[:80]
            )
        parts.append(recent)
    parts += [Text(note, style="yellow") for note in frame.notes]
    return Group(*parts)


def _headline(frame: Frame) -> Text:
    health = frame.health
    if health is None:
        return Text(f"worker {frame.url}: health unknown", style="yellow")
    ok = health.get("status") == "ok"
    text = Text(f"worker {frame.url}  ")
    text.append(str(health.get("status", "?")), style="bold green" if ok else "bold red")
    for check in ("broker", "clickhouse", "lag_ok"):
        text.append(
            f"  {check} {'yes' if health.get(check) else 'NO'}",
            style=None if health.get(check) else "red",
        )
    text.append(f"  lag {health.get('lag', 0):,}  partitions {health.get('partitions', 0)}")
    for reason in health.get("reasons", []):
        text.append(f"\n  {reason}", style="red")
    return text


def _throughput(frame: Frame) -> Table:
    table = Table(title="throughput", title_justify="left")
    for column in ("", "per second", "total"):
        table.add_column(column, justify="left" if not column else "right")
    for label, name in (
        ("messages consumed", "logweir_consumed_messages_total"),
        ("events", "logweir_events_total"),
        ("stored", "logweir_stored_events_total"),
        ("dead-lettered", "logweir_deadletters_total"),
        ("dropped by hooks", "logweir_dropped_events_total"),
        ("skipped (already stored)", "logweir_skipped_events_total"),
    ):
        rate = frame.rate(name)
        table.add_row(
            label, "–" if rate is None else f"{rate:,.1f}", f"{frame.current.total(name):,.0f}"
        )
    return table


def _sink(frame: Frame) -> Table:
    cur = frame.current
    table = Table(title="sink", title_justify="left")
    for column in ("inserts", "rows/insert p50", "latency p50", "latency p95", "retries"):
        table.add_column(column, justify="right")
    p50, p95 = frame.latency(0.5), frame.latency(0.95)
    rows = quantile(0.5, cur.buckets("logweir_sink_batch_rows"))
    table.add_row(
        f"{cur.total('logweir_sink_insert_seconds_count'):,.0f}",
        "–" if rows is None else f"{rows:,.0f}",
        "–" if p50 is None else f"{p50 * 1000:,.0f} ms",
        "–" if p95 is None else f"{p95 * 1000:,.0f} ms",
        f"{cur.total('logweir_sink_retries_total'):,.0f}",
    )
    return table


class Recent:
    """Recent alerts and dead letters from ClickHouse; a failure is a note, not an exit."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Client | None = None

    def read(self, frame: Frame) -> None:
        from pipeline.clickhouse import connect, unreachable

        try:
            if self._client is None:
                self._client = connect(self.settings)
            frame.alerts = self._client.query(
                "SELECT EventTime, Status, Rule, Summary FROM alerts "
                "ORDER BY EventTime DESC LIMIT {n:UInt32}",
                parameters={"n": RECENT_ROWS},
            ).result_rows
            frame.deadletters = self._client.query(
                "SELECT ReceivedAt, Reason, KafkaTopic, KafkaPartition, KafkaOffset, Detail "
                "FROM logs_deadletter WHERE ReceivedAt >= now() - INTERVAL 1 DAY "
                "ORDER BY ReceivedAt DESC LIMIT {n:UInt32}",
                parameters={"n": RECENT_ROWS},
            ).result_rows
        except Exception as exc:  # noqa: BLE001 - the worker's own view still stands
            self._client = None
            why = str(exc) if isinstance(exc, LogweirError) else unreachable(self.settings, exc)
            frame.notes.append(f"no recent alerts and dead letters: {why}")


def status(
    once: Annotated[bool, typer.Option("--once", help="print one frame and exit")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="seconds between frames")] = 1.0,
    url: Annotated[
        str | None,
        typer.Option(help="the worker's metrics address (default from LOGWEIR_METRICS_HOST/PORT)"),
    ] = None,
) -> None:
    """Live view of a running worker: throughput, lag, dead letters, sink latency, alerts."""
    settings = Settings()
    if url is None and not settings.metrics_port:
        raise WorkerUnreachable(
            "the worker's metrics are off (LOGWEIR_METRICS_PORT=0): set a "
            "port for the worker and for `logweir status`"
        )
    url = (url or worker_url(settings)).rstrip("/")
    recent = Recent(settings)

    def frame(previous: Scrape | None) -> Frame:
        current, health = scrape(url)
        built = Frame(url, current, previous, health)
        recent.read(built)
        return built

    # Rates need two reads: the one-shot view waits one interval for the second.
    latest = frame(None)
    if once:
        time.sleep(interval)
        console.print(render(frame(latest.current)))
        return
    try:
        with Live(render(latest), console=console, refresh_per_second=4) as live:
            while True:
                time.sleep(interval)
                try:
                    latest = frame(latest.current)
                except WorkerUnreachable as exc:
                    latest.notes = [str(exc)]
                live.update(render(latest))
    except KeyboardInterrupt:
        return
