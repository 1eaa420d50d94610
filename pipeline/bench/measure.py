"""Benchmark measurements, each on the real stack with its own topics and database."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from pipeline.bench.corpus import Corpus
from pipeline.bench.producer import produce
from pipeline.clickhouse import connect
from pipeline.errors import LogweirError
from pipeline.ingest.columnar import prepare_step
from pipeline.ingest.ingestor import Ingestor
from pipeline.ops import migrations
from pipeline.settings import Settings
from pipeline.sink import LOG_COLUMNS, native
from pipeline.sink.native import NativeLayout
from pipeline.sink.tables import Row
from pipeline.stack.broker import Broker, create_topics, delete_topics
from pipeline.stack.child import Child
from pipeline.stack.clickhouse import ClickHouseServer


@dataclass(frozen=True)
class Command:
    argv: list[str]
    # A line the process logs once it is consuming: the clock starts there, so start-up and
    # group joins are not counted.
    ready: str


WORKER = Command([sys.executable, "-m", "agents"], "ingest partitions assigned")
NAIVE_WORKER = Command([sys.executable, "-m", "pipeline.bench.naive"], "[^Worker]: Ready")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def prepare(settings: Settings) -> None:
    asyncio.run(create_topics(settings.kafka_bootstrap, settings.topics, settings.topic_partitions))
    migrations.apply(settings)


def drop(settings: Settings) -> None:
    """Remove a measurement's database and topics (the local broker keeps messages in memory:
    a benchmark run left ~1 GB behind before its topics were deleted)."""
    drop_database(settings)
    asyncio.run(delete_topics(settings.kafka_bootstrap, settings.topics))


def drop_database(settings: Settings) -> None:
    connect(settings, database="").command(
        f"DROP DATABASE IF EXISTS `{settings.clickhouse_database}`"
    )


def publish(settings: Settings, corpus: Corpus) -> float:
    """Produce the whole corpus, evenly over the partitions; returns messages per second."""
    started = time.perf_counter()
    asyncio.run(produce(settings, corpus.messages, headers=corpus.headers or None, spread=True))
    return len(corpus.messages) / (time.perf_counter() - started)


@dataclass
class Drain:
    """How fast workers turned a topic full of messages into queryable rows."""

    events: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    # Cores busy meanwhile in ClickHouse, in the broker, and in every other process on the
    # machine (kernel threads included): what the workers did not have.
    clickhouse_cores: float = 0.0
    broker_cores: float = 0.0
    other_cores: float = 0.0
    # CPU seconds of each process during the drain, by pid (the `companions` among them).
    cpu_by_pid: dict[int, float] = field(default_factory=dict)

    @property
    def worker_cores(self) -> float:
        return self.cpu_seconds / self.seconds

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_per_million(self) -> float:
        return self.cpu_seconds / self.events * 1e6


def drain(
    settings: Settings,
    expected: int,
    command: Command,
    workers: int = 1,
    timeout: float = 600.0,
    load: Callable[[], object] | None = None,
    companions: Sequence[int] = (),
) -> Drain:
    """Start `workers` processes on a topic already holding `expected` events; time from the
    last worker's ready line to the last row visible.

    With `load`, the events are sent once the clock has started (the topic may start empty):
    the figure then includes sending them. `companions` are pids of other processes of the
    measurement (the HTTP intake): left out of `other_cores`, their CPU in `cpu_by_pid`."""
    client = connect(settings)
    env = {**os.environ, **settings.to_env()}
    log_dir = settings.state_dir / "bench"
    procs = [
        Child(command.argv, log_dir / f"{settings.app_id}-{i}.log", env).start()
        for i in range(workers)
    ]
    try:
        deadline = time.monotonic() + timeout
        while not all(command.ready in p.log_text() for p in procs):
            if time.monotonic() > deadline or not all(p.alive() for p in procs):
                raise LogweirError(f"benchmark workers did not start; logs in {log_dir}")
            time.sleep(0.02)
        broker_pid = Broker(settings).daemon.pid()
        clickhouse_pid = ClickHouseServer(settings).daemon.pid()
        accounted = {os.getpid(), *(p.pid for p in procs), broker_pid, clickhouse_pid, *companions}
        machine_before = _cpu_by_pid()
        started, cpu_before = time.perf_counter(), sum(_cpu(p.pid) for p in procs)
        if load is not None:
            load()
        while (count := stored_rows(client)) < expected:
            if time.monotonic() > deadline or not all(p.alive() for p in procs):
                raise LogweirError(
                    f"benchmark workers stored {count}/{expected} events; logs in {log_dir}"
                )
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        cpu = sum(_cpu(p.pid) for p in procs) - cpu_before
        used: dict[int, float] = {}
        for (pid, start), after in _cpu_by_pid().items():
            # Keyed by start time too: pids are reused (pid_max is 32768 here), and a process
            # that started during the drain used all its CPU within it.
            used[pid] = used.get(pid, 0.0) + after - machine_before.get((pid, start), 0.0)
        return Drain(
            expected,
            seconds,
            cpu,
            max(_peak_rss_mb(p.pid) for p in procs),
            clickhouse_cores=used.get(clickhouse_pid or 0, 0.0) / seconds,
            broker_cores=used.get(broker_pid or 0, 0.0) / seconds,
            other_cores=sum(u for pid, u in used.items() if pid not in accounted) / seconds,
            cpu_by_pid=used,
        )
    finally:
        for p in procs:
            p.stop()


def consume_only(settings: Settings, expected: int) -> float:
    """Messages per second aiokafka alone reads from the same topic: the ingest ceiling."""

    async def run() -> float:
        # Assigned, not subscribed: no group join inside the timed part.
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            enable_auto_commit=False,
            max_partition_fetch_bytes=settings.max_message_bytes,
            fetch_max_bytes=64 * 1024 * 1024,
        )
        await consumer.start()
        try:
            consumer.assign(
                [TopicPartition(settings.topic_raw, p) for p in range(settings.topic_partitions)]
            )
            await consumer.seek_to_beginning()
            seen, started = 0, time.perf_counter()
            while seen < expected:
                batches = await consumer.getmany(timeout_ms=1000, max_records=20000)
                seen += sum(len(records) for records in batches.values())
            return seen / (time.perf_counter() - started)
        finally:
            await consumer.stop()

    return asyncio.run(run())


def insert_only(settings: Settings, corpus: Corpus) -> float:
    """Rows per second ClickHouse takes for the same rows, parsed beforehand, in sink batches."""
    rows = prepared_rows(settings, corpus)
    client = connect(settings, inserts=True)
    size = settings.sink_batch_messages
    # The sink's insert: columns, encoded as the sink encodes them, one request per batch.
    batches = [list(zip(*rows[i : i + size], strict=True)) for i in range(0, len(rows), size)]
    context = client.create_insert_context("otel_logs", LOG_COLUMNS, column_oriented=True)
    layout = NativeLayout.of(context)
    started = time.perf_counter()
    for columns in batches:
        native.insert(client, context, layout, columns)
    return len(rows) / (time.perf_counter() - started)


def prepared_rows(settings: Settings, corpus: Corpus) -> list[Row]:
    """The corpus's otel_logs rows, made by the prepare step the worker runs
    (`settings.ingest_path`) over its Kafka records, a sink batch at a time."""
    step = prepare_step(settings, Ingestor(settings))
    records = corpus.records(settings.topic_raw, int(time.time() * 1000))
    size = settings.sink_batch_messages
    rows: list[Row] = []
    for i in range(0, len(records), size):
        rows.extend(step(records[i : i + size]).log_rows)
    return rows


def stored_rows(client) -> int:  # type: ignore[no-untyped-def]
    return int(
        client.query(
            "SELECT (SELECT count() FROM otel_logs) + (SELECT count() FROM logs_deadletter)"
        ).result_rows[0][0]
    )


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat from field 3 (state) on; empty if the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _cpu(pid: int) -> float:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS if fields else 0.0


def _cpu_by_pid() -> dict[tuple[int, int], float]:
    """CPU seconds so far of every process on the machine, kernel threads included, keyed by
    (pid, start time)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            found[(int(entry.name), int(fields[19]))] = (
                int(fields[11]) + int(fields[12])
            ) / CLOCK_TICKS
    return found


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
