"""Publishing lines to a Kafka topic, remembering which offsets they landed at."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pipeline.kafka_auth import client_options
from pipeline.settings import Settings
from pipeline.shipping.kafka import new_producer


@dataclass
class Produced:
    """Where produced messages landed: per partition the offsets range and the count."""

    topic: str
    ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    count: int = 0

    def add(self, partition: int, offset: int) -> None:
        low, high = self.ranges.get(partition, (offset, offset))
        self.ranges[partition] = (min(low, offset), max(high, offset))
        self.count += 1


async def produce(
    settings: Settings,
    messages: Iterable[tuple[bytes | None, bytes]],
    topic: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    window: int = 5000,
    headers: list[tuple[str, bytes]] | None = None,
    spread: bool = False,
) -> Produced:
    """Send (key, value) pairs with acks=all; returns where each landed once all are acked.

    `spread` sends to the partitions in turn instead of by key: with a handful of keys (five
    services on four partitions) some partitions, and so some workers, get double shares.
    """
    produced = Produced(topic or settings.topic_raw)
    producer = new_producer(
        settings.kafka_bootstrap, settings.max_message_bytes, client_options(settings), linger_ms=10
    )
    await producer.start()
    try:
        pending: list[asyncio.Future] = []

        async def drain() -> None:
            for meta in await asyncio.gather(*pending):
                produced.add(meta.partition, meta.offset)
            if on_progress is not None:
                on_progress(len(pending))
            pending.clear()

        partitions = sorted(await producer.partitions_for(produced.topic)) if spread else []
        for i, (key, value) in enumerate(messages):
            partition = partitions[i % len(partitions)] if partitions else None
            pending.append(
                await producer.send(
                    produced.topic, value=value, key=key, headers=headers, partition=partition
                )
            )
            if len(pending) >= window:
                await drain()
        await drain()
    finally:
        await producer.stop()
    return produced
