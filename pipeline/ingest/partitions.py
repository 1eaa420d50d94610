"""What the sink asks Kafka about a partition it writes (`pipeline.sink.PartitionLog`).

The high watermark comes from the ingest consumer's last fetch. The Kafka timestamp of the
record at an offset is read by a consumer of its own (no group), so the ingest consumer's
position and group membership are untouched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError, OffsetOutOfRangeError

from pipeline.errors import first_line

log = logging.getLogger(__name__)


class BrokerPartitions:
    def __init__(
        self,
        consumer: Callable[[], AIOKafkaConsumer | None],
        options: Callable[[], dict[str, Any]],
    ) -> None:
        self._consumer = consumer
        self._options = options
        self._probe: AIOKafkaConsumer | None = None

    async def close(self) -> None:
        if self._probe is not None:
            await self._probe.stop()

    def highwater(self, topic: str, partition: int) -> int | None:
        """The high watermark of the ingest consumer's last fetch of the partition."""
        consumer = self._consumer()
        assert consumer is not None
        return consumer.highwater(TopicPartition(topic, partition))  # type: ignore[no-any-return]

    async def timestamp_at(self, topic: str, partition: int, offset: int) -> int | None:
        """The Kafka timestamp of the record at `offset`; None if the partition has no record
        there. Waits for the broker as long as it takes."""
        tp = TopicPartition(topic, partition)
        delay = 1.0
        while True:
            try:
                probe = await self._probe_consumer()
                probe.assign([tp])
                try:
                    return await self._read_timestamp(probe, tp, offset)
                finally:
                    # An assigned probe would keep prefetching the partition, and its metadata
                    # requests would name the topic: the local broker (like Apache Kafka with
                    # auto.create.topics.enable) then creates a deleted topic again, within a
                    # refresh, under the ingest consumer's eyes (seen as a deleted topic that
                    # never left the assignment).
                    probe.unsubscribe()
            except OffsetOutOfRangeError:
                return None
            except (KafkaError, TimeoutError) as exc:
                log.warning(
                    "cannot read %s[%d]@%d to check the stored progress (%s); retrying in %.0f s",
                    topic,
                    partition,
                    offset,
                    first_line(exc, 200),
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    @staticmethod
    async def _read_timestamp(
        probe: AIOKafkaConsumer, tp: TopicPartition, offset: int
    ) -> int | None:
        probe.seek(tp, offset)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            fetched = await probe.getmany(tp, timeout_ms=1000, max_records=1)
            for record in fetched.get(tp, []):
                return record.timestamp if record.offset == offset else None  # type: ignore[no-any-return]
            high = probe.highwater(tp)
            if high is not None and high <= offset:
                return None
        raise TimeoutError("no answer within 10 s")

    async def _probe_consumer(self) -> AIOKafkaConsumer:
        if self._probe is None:
            probe = AIOKafkaConsumer(
                group_id=None, enable_auto_commit=False, auto_offset_reset="none", **self._options()
            )
            await probe.start()
            self._probe = probe
        return self._probe
