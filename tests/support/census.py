"""Events that each carry a unique id, and a count of what became of every id in ClickHouse.

Fault tests count this way, as an outside observer would: by id, not by the pipeline's own
Kafka coordinates, so a lost or doubled event is seen whatever the pipeline believes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson
from clickhouse_connect.driver.client import Client

from pipeline.settings import Settings
from pipeline.shipping.kafka import new_producer


def tagged(tag: str, count: int, start: int = 0) -> list[tuple[bytes | None, bytes]]:
    """`count` JSON events whose bodies are `<tag>-<n>`, unique per (tag, n)."""
    return [
        (None, orjson.dumps({"level": "info", "msg": f"{tag}-{n}"}))
        for n in range(start, start + count)
    ]


@dataclass(frozen=True)
class Census:
    ids: int  # distinct ids stored
    rows: int  # rows holding them
    doubled_coordinates: int  # (topic, partition, incarnation, offset, index) stored twice

    @property
    def duplicates(self) -> int:
        return self.rows - self.ids


async def send_each(settings: Settings, messages: list[tuple[bytes | None, bytes]]) -> None:
    """Each message on its own to the raw topic, keys left out (so partitions round-robin)."""
    producer = new_producer(settings.kafka_bootstrap, settings.max_message_bytes, {})
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(settings.topic_raw, v) for _, v in messages])
    finally:
        await producer.stop()


def census(client: Client, tag: str) -> Census:
    ids, rows = client.query(
        "SELECT uniqExact(Body), count() FROM otel_logs WHERE startsWith(Body, {prefix:String})",
        parameters={"prefix": f"{tag}-"},
    ).result_rows[0]
    doubled = client.query(
        "SELECT count() FROM (SELECT count() c FROM otel_logs GROUP BY KafkaTopic, "
        "KafkaPartition, KafkaIncarnation, KafkaOffset, KafkaEventIndex HAVING c > 1)"
    ).result_rows[0][0]
    return Census(int(ids), int(rows), int(doubled))
