"""The ingest consumer: logs.raw read in batches with aiokafka, committed after each write.

Profiled, Faust's per-event stream machinery (an Event, a flow-control queue and several tasks
per message) took about half of the worker's CPU on the ingest path, more than parsing. This
consumer runs inside the Faust worker as a service but reads raw record batches straight from
aiokafka: the expensive per-message layer is gone, and the commit point stays explicit: offsets
are committed only after `handle` (the ClickHouse write) has returned for the whole batch.
It uses its own consumer group (`Settings.ingest_group`), because Faust's group speaks Faust's
assignor protocol.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from mode import Service

from pipeline.kafka_auth import client_options
from pipeline.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

Prepare = Callable[[list[ConsumerRecord]], T]
# The prepared batch and the (topic, partition) pairs this worker still owns.
Write = Callable[[T, frozenset[tuple[str, int]]], Awaitable[None]]


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: IngestConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Finish (and commit) the batch in hand before another worker takes its partitions.
        async with self.owner.batch_lock:
            pass

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info(
            "ingest partitions assigned: %s",
            ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(assigned)),
        )
        await self.owner.on_assigned(frozenset((tp.topic, tp.partition) for tp in assigned))


class IngestConsumer(Service, Generic[T]):  # type: ignore[misc]
    """Batches of up to `sink_batch_size` records or `sink_batch_bytes`, or what arrived
    within the linger time.

    `prepare` (CPU: parse, enrich, build rows) of the next batch runs while `write` (I/O: the
    ClickHouse insert) of the previous one is still under way, so both cores stay busy; writes
    and their commits stay strictly in order, one at a time, which the sink's stored-offset
    marks rely on. `write` gets the (topic, partition) pairs still owned: records of partitions
    revoked meanwhile are another worker's and must not be written.
    """

    def __init__(
        self,
        settings: Settings,
        prepare: Prepare[T],
        write: Write[T],
        on_assigned: Callable[[frozenset[tuple[str, int]]], Awaitable[None]],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.prepare = prepare
        self.write = write
        self.on_assigned = on_assigned
        self.batch_lock = asyncio.Lock()
        self.consumer: AIOKafkaConsumer | None = None

    async def on_start(self) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.settings.ingest_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            max_partition_fetch_bytes=self.settings.max_message_bytes,
            fetch_max_bytes=max(self.settings.max_message_bytes, 64 * 1024 * 1024),
            max_poll_records=self.settings.sink_batch_size,
            **client_options(self.settings),
        )
        # `logs.raw` and `logs.raw.<service>`: topics published per service are read too.
        self.consumer.subscribe(
            pattern=f"^{re.escape(self.settings.topic_raw)}(\\..+)?$",
            listener=_Rebalance(self),
        )
        await self.consumer.start()

    async def on_stop(self) -> None:
        if self.consumer is not None:
            async with self.batch_lock:
                await self.consumer.stop()

    @Service.task
    async def _consume(self) -> None:
        assert self.consumer is not None
        size, linger = self.settings.sink_batch_size, self.settings.sink_linger_seconds
        max_bytes = self.settings.sink_batch_bytes
        in_flight: asyncio.Future[None] | None = None
        while not self.should_stop:
            batch: list[ConsumerRecord] = []
            # The offset to commit per partition: one past the last record of the batch.
            ends: dict[TopicPartition, int] = {}
            deadline = None
            batch_bytes = 0
            while len(batch) < size and batch_bytes < max_bytes:
                wait = linger if deadline is None else max(0.0, deadline - time.monotonic())
                fetched = await self.consumer.getmany(
                    timeout_ms=int(wait * 1000), max_records=size - len(batch)
                )
                for tp, records in fetched.items():
                    batch.extend(records)
                    ends[tp] = records[-1].offset + 1
                    batch_bytes += sum(len(r.value or b"") for r in records)
                if batch and deadline is None:
                    deadline = time.monotonic() + linger
                if (deadline is not None and time.monotonic() >= deadline) or self.should_stop:
                    break
            if not batch:
                continue
            prepared = self.prepare(batch)
            if in_flight is not None:
                await in_flight
            in_flight = asyncio.ensure_future(self._write_and_commit(prepared, ends))
            # Let the write reach its insert thread now: getmany often returns without
            # yielding, and the next prepare would then hold the loop before the insert began.
            await asyncio.sleep(0)
        if in_flight is not None:
            await in_flight

    async def _write_and_commit(self, prepared: T, ends: dict[TopicPartition, int]) -> None:
        assert self.consumer is not None
        async with self.batch_lock:
            owned = self.consumer.assignment()
            await self.write(prepared, frozenset((tp.topic, tp.partition) for tp in owned))
            offsets = {tp: offset for tp, offset in ends.items() if tp in owned}
            if not offsets:
                return
            try:
                await self.consumer.commit(offsets)
            except (CommitFailedError, KafkaError) as exc:
                # The rows are stored; a replay of this batch is skipped by the sink's offsets.
                log.warning(
                    "offset commit failed (%s): the batch will be read again and skipped", exc
                )
