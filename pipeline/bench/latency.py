"""Latency at a steady rate: from a message's send to its row being queryable."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from pipeline.bench.corpus import Corpus
from pipeline.bench.measure import stored_rows
from pipeline.bench.producer import produce
from pipeline.clickhouse import connect
from pipeline.errors import LogweirError
from pipeline.settings import Settings
from pipeline.shipping.throttle import TokenBucket
from pipeline.stack.child import worker


@dataclass
class Latency:
    rate: float
    seconds: float
    samples: list[float] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        return statistics.quantiles(self.samples, n=100, method="inclusive")[int(p) - 1]


def latency(settings: Settings, rate: float, seconds: float, corpus: Corpus) -> Latency:
    """Produce at a steady rate into a running worker; for every message, the time from its
    send to the first poll (every 50 ms) that finds its offset stored in ClickHouse."""
    log_path = settings.state_dir / "bench" / f"{settings.app_id}-latency.log"
    proc = worker(settings, log_path).start()
    client = connect(settings)
    try:
        asyncio.run(produce(settings, corpus.messages[:1]))  # ready once this one is stored
        deadline = time.monotonic() + 60
        while stored_rows(client) < 1:
            if time.monotonic() > deadline or not proc.alive():
                raise LogweirError(f"the latency worker did not start; see {log_path}")
            time.sleep(0.1)
        seen: list[tuple[float, dict[int, int]]] = []
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                rows = client.query(
                    "SELECT KafkaPartition, max(MaxOffset) FROM ingest_progress "
                    "WHERE TargetTable = 'otel_logs' GROUP BY KafkaPartition"
                ).result_rows
                seen.append((time.perf_counter(), {int(p): int(o) for p, o in rows}))
                time.sleep(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        sent = asyncio.run(_steady(settings, corpus, rate, seconds))
        final: dict[int, int] = {}
        for p, _, o in sent:
            final[p] = max(final.get(p, -1), o)
        deadline = time.monotonic() + 60
        while not seen or any(seen[-1][1].get(p, -1) < o for p, o in final.items()):
            if time.monotonic() > deadline:
                raise LogweirError("messages sent in the latency run never became visible")
            time.sleep(0.1)
        stop.set()
        poller.join()
        result = Latency(rate, seconds)
        for partition, sent_at, offset in sent:
            for polled_at, stored in seen:
                if polled_at >= sent_at and stored.get(partition, -1) >= offset:
                    result.samples.append(polled_at - sent_at)
                    break
        return result
    finally:
        proc.stop()


async def _steady(
    settings: Settings, corpus: Corpus, rate: float, seconds: float
) -> list[tuple[int, float, int]]:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        linger_ms=5,
        max_request_size=settings.max_message_bytes,
    )
    await producer.start()
    bucket = TokenBucket(rate, capacity=max(1.0, rate / 100))
    pending: list[tuple[float, asyncio.Future]] = []
    try:
        end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < end:
            wait = bucket.take()
            if wait:
                await asyncio.sleep(wait)
            key, value = corpus.messages[i % len(corpus.messages)]
            i += 1
            pending.append(
                (time.perf_counter(), await producer.send(settings.topic_raw, value=value, key=key))
            )
        metas = await asyncio.gather(*(f for _, f in pending))
    finally:
        await producer.stop()
    return [(m.partition, t, m.offset) for (t, _), m in zip(pending, metas, strict=True)]
