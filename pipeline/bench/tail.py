"""Live tail delay: from a message's send to its line printed by `logweir tail`, at a steady
rate, on a running stack (`logweir stack up`, or the LOGWEIR_* settings of another).

    python -m pipeline.bench.tail --rate 5000 --seconds 30

Each message carries its send time (this process's clock, which also stamps each line as it
is read from the tail's output); topics, database and worker are the run's own and removed
after. Not part of `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaProducer

from pipeline.bench.measure import drop, prepare, stored_rows
from pipeline.bench.producer import produce
from pipeline.clickhouse import connect
from pipeline.errors import LogweirError
from pipeline.settings import Settings
from pipeline.stack.child import worker


@dataclass
class TailDelay:
    rate: float  # asked for
    seconds: float
    sent: int = 0
    sent_rate: float = 0.0  # reached
    shown: list[float] = field(default_factory=list)  # send → line printed by the tail
    stored: list[float] = field(default_factory=list)  # send → offset in ingest_progress
    tail_cpu_seconds: float = 0.0
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def summary(self) -> str:
        return (
            f"{self.sent} events in {self.seconds:g} s ({self.sent_rate:,.0f}/s of {self.rate:g} "
            f"asked): {len(self.shown)} shown by the tail, delay {_quantiles(self.shown)}; "
            f"stored (queryable, polled every 50 ms) {_quantiles(self.stored)}; "
            f"tail CPU {self.tail_cpu_seconds:.1f} s; load average "
            + " ".join(f"{x:.2f}" for x in self.load)
        )


def _quantiles(samples: list[float]) -> str:
    if len(samples) < 2:
        return "n/a"
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return f"p50 {q[49]:.2f} s, p95 {q[94]:.2f} s, p99 {q[98]:.2f} s, max {max(samples):.2f} s"


def tail_delay(base: Settings, rate: float, seconds: float) -> TailDelay:
    settings = base.scratch("bench-tail-")
    prepare(settings)
    log_path = settings.state_dir / "bench" / f"{settings.app_id}-tail.log"
    proc = worker(settings, log_path).start()
    tag = f"tail-{uuid.uuid4().hex[:8]}"
    result = TailDelay(rate, seconds)
    tail: subprocess.Popen[bytes] | None = None
    stop = threading.Event()
    try:
        client = connect(settings)
        asyncio.run(produce(settings, [(None, b'{"msg": "ready"}')]))
        deadline = time.monotonic() + 60
        while stored_rows(client) < 1:
            if time.monotonic() > deadline or not proc.alive():
                raise LogweirError(f"the worker did not start; see {log_path}")
            time.sleep(0.1)
        tail = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "tail", "--contains", tag, "--format", "json"],
            env={**os.environ, **settings.to_env()},
            stdout=subprocess.PIPE,
        )
        lines: list[tuple[float, bytes]] = []
        polls: list[tuple[float, dict[int, int]]] = []
        threads = [
            threading.Thread(target=_read, args=(tail, lines), daemon=True),
            threading.Thread(target=_poll_stored, args=(settings, polls, stop), daemon=True),
        ]
        for thread in threads:
            thread.start()
        time.sleep(3)  # the tail's start-up (imports, first query) is not what is measured
        sent = asyncio.run(_steady(settings, tag, rate, seconds))
        result.sent = len(sent)
        result.sent_rate = len(sent) / (sent[-1][0] - sent[0][0]) if len(sent) > 1 else 0.0
        deadline = time.monotonic() + 120
        while len(lines) < result.sent and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        result.load = os.getloadavg()
        result.tail_cpu_seconds = _cpu_seconds(tail.pid)
        for read_at, line in lines:
            body = orjson.loads(line)["Body"]
            result.shown.append(read_at - float(body.rsplit(" ", 1)[1]))
        result.stored = _stored_delays(sent, polls)
        if not result.shown:
            raise LogweirError(f"the tail showed none of the {result.sent} events")
        return result
    finally:
        stop.set()
        if tail is not None:
            tail.terminate()
            tail.wait(timeout=30)
        proc.stop()
        drop(settings)


def _read(tail: subprocess.Popen[bytes], lines: list[tuple[float, bytes]]) -> None:
    # Stamped as read, parsed after the run: this thread shares the GIL with the producer.
    for line in tail.stdout or ():
        lines.append((time.time(), line))


def _poll_stored(
    settings: Settings, polls: list[tuple[float, dict[int, int]]], stop: threading.Event
) -> None:
    client = connect(settings)
    while not stop.is_set():
        rows = client.query(
            "SELECT KafkaPartition, max(MaxOffset) FROM ingest_progress "
            "WHERE TargetTable = 'otel_logs' GROUP BY KafkaPartition"
        ).result_rows
        polls.append((time.time(), {int(p): int(o) for p, o in rows}))
        time.sleep(0.05)


def _stored_delays(
    sent: list[tuple[float, int, int]], polls: list[tuple[float, dict[int, int]]]
) -> list[float]:
    """Per message, the first poll after its send that found its offset stored."""
    delays = []
    by_partition: dict[int, list[tuple[int, float]]] = {}
    for polled_at, stored in polls:
        for partition, offset in stored.items():
            by_partition.setdefault(partition, []).append((offset, polled_at))
    for sent_at, partition, offset in sent:
        seen = by_partition.get(partition, [])
        i = bisect.bisect_left(seen, (offset, 0.0))
        while i < len(seen) and seen[i][1] < sent_at:
            i += 1
        if i < len(seen):
            delays.append(seen[i][1] - sent_at)
    return delays


async def _steady(
    settings: Settings, tag: str, rate: float, seconds: float
) -> list[tuple[float, int, int]]:
    """Send `rate` events a second in ticks of 10 ms, each stamped with its tick's time;
    returns (send time, partition, offset) of each."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    pending: list[tuple[float, asyncio.Future]] = []
    try:
        began = time.perf_counter()
        due = 0.0
        while (elapsed := time.perf_counter() - began) < seconds:
            due = rate * elapsed
            sent_at = time.time()
            while len(pending) < due:
                body = f"{tag}-{len(pending)} sent {sent_at:.6f}"
                value = orjson.dumps({"level": "info", "msg": body})
                pending.append((sent_at, await producer.send(settings.topic_raw, value=value)))
            await asyncio.sleep(0.01)
        metas = await asyncio.gather(*(f for _, f in pending))
    finally:
        await producer.stop()
    return [(t, m.partition, m.offset) for (t, _), m in zip(pending, metas, strict=True)]


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=5000, help="events per second")
    parser.add_argument("--seconds", type=float, default=30, help="how long to produce")
    args = parser.parse_args()
    print(tail_delay(Settings(), args.rate, args.seconds).summary())


if __name__ == "__main__":
    main()
