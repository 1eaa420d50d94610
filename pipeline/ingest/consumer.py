"""The ingest consumer: logs.raw read in batches with aiokafka, committed after each write.

Profiled, Faust's per-event stream machinery (an Event, a flow-control queue and several tasks
per message) took about half of the worker's CPU on the ingest path, more than parsing. This
consumer reads raw record batches straight from aiokafka, in its own consumer group
(`Settings.ingest_group`), and starts before the Faust app: ingestion never waits for the Faust
group (alerting's leader election) to settle. Offsets are committed only after `write` (the
ClickHouse insert) has returned for the whole batch.

A batch belongs to the assignment it was fetched under. When the assignment changes, every
batch not yet written (being assembled, or prepared and waiting) is dropped, and once the write
under way has finished, every partition goes back to its committed offset, which is where the
written batches end: after a rebalance aiokafka moves kept partitions back there too, and the
same records would otherwise come twice inside one batch. Within a batch an offset is never
held twice, whatever moved a position.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import ConsumerRecord
from mode import Service

from pipeline.errors import first_line
from pipeline.ingest import kafka_records
from pipeline.ingest._scan import KafkaRecord, census
from pipeline.ingest.assignment import AssignmentWatch
from pipeline.ingest.partitions import BrokerPartitions
from pipeline.kafka_auth import client_options
from pipeline.observe import telemetry
from pipeline.settings import Settings
from pipeline.sink.progress import PartitionLog

log = logging.getLogger(__name__)

T = TypeVar("T")


# How often a commit that has not returned looks whether its partitions still exist.
_COMMIT_CHECK_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Written:
    """What became of a batch's write. Non-empty `reread`: nothing was written; these
    partitions are a new incarnation found past their start and are read again from their
    beginning, the others from their committed offsets."""

    reread: frozenset[tuple[str, int]] = frozenset()


# A fetched record as the consumer hands it to the prepare step: read in C on the columnar path
# (kafka_records.py), aiokafka's own on the record-by-record path.
FetchedRecord: TypeAlias = KafkaRecord | ConsumerRecord
Prepare = Callable[[list[FetchedRecord]], T]
# The prepared batch (every record of it fetched under the current assignment), and the
# partitions' Kafka facts the sink checks its stored progress against.
Write = Callable[[T, PartitionLog], Awaitable[Written]]


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: IngestConsumer[Any]) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Batches fetched so far belong to the old assignment; the one being written finishes
        # (and commits) before another worker may take its partitions.
        self.owner.generation += 1
        async with self.owner.batch_lock:
            pass

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.owner.generation += 1
        self.owner.watch.assigned()
        telemetry.rebalanced(self.owner.settings.ingest_group)
        log.info(
            "ingest partitions assigned: %s",
            ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(assigned)) or "none",
        )
        self.owner.on_assigned(frozenset((tp.topic, tp.partition) for tp in assigned))


class IngestConsumer(Service, Generic[T]):  # type: ignore[misc]
    """Batches of up to `sink_batch_messages` records or `sink_batch_bytes`, or what arrived
    within the linger time.

    `prepare` (CPU: parse, enrich, build rows) of the next batch runs while `write` (I/O: the
    ClickHouse insert) of the previous one is still under way, so both cores stay busy; writes
    and their commits stay strictly in order, one at a time, which the sink's stored-offset
    marks rely on.
    """

    def __init__(
        self,
        settings: Settings,
        prepare: Prepare[T],
        write: Write[T],
        on_assigned: Callable[[frozenset[tuple[str, int]]], None],
        reads_kafka_records: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        # Fetched records as kafka_records.KafkaRecord, read in C (the columnar path), rather
        # than aiokafka's ConsumerRecords.
        self.reads_kafka_records = reads_kafka_records
        self.prepare = prepare
        self.write = write
        self.on_assigned = on_assigned
        self.batch_lock = asyncio.Lock()
        self.consumer: AIOKafkaConsumer | None = None
        # Bumped at every revoke and assignment: a batch fetched under an older one is dropped.
        self.generation = 0
        self.watch = AssignmentWatch(settings, lambda: self.consumer)
        # Set when fetched records were dropped: before the next batch, every partition goes
        # back to its committed offset, or to its beginning if it is in `from_beginning`.
        self.rewind = False
        self.from_beginning: set[tuple[str, int]] = set()
        # What the sink asks Kafka about the partitions of a batch it writes.
        self.partitions = BrokerPartitions(lambda: self.consumer, self._options)

    def _options(self) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.settings.kafka_bootstrap,
            "max_partition_fetch_bytes": self.settings.max_message_bytes,
            "fetch_max_bytes": max(self.settings.max_message_bytes, 64 * 1024 * 1024),
            **client_options(self.settings),
        }

    async def on_start(self) -> None:
        self.watch.started()
        if self.reads_kafka_records:
            kafka_records.install()
        self.consumer = AIOKafkaConsumer(
            group_id=self.settings.ingest_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=int(self.settings.kafka_session_timeout_seconds * 1000),
            heartbeat_interval_ms=int(self.settings.kafka_heartbeat_seconds * 1000),
            max_poll_records=self.settings.sink_batch_messages,
            value_deserializer=kafka_records.keep_value if self.reads_kafka_records else None,
            # Pattern subscriptions see new and re-created topics at a metadata refresh: every
            # few seconds, not aiokafka's default of five minutes.
            metadata_max_age_ms=int(self.settings.ingest_metadata_refresh_seconds * 1000),
            **self._options(),
        )
        # `logs.raw` and `logs.raw.<service>`: topics published per service are read too.
        self.consumer.subscribe(pattern=self.pattern, listener=_Rebalance(self))

    @property
    def pattern(self) -> str:
        return f"^{re.escape(self.settings.topic_raw)}(\\..+)?$"

    async def on_stop(self) -> None:
        if self.consumer is not None:
            async with self.batch_lock:
                await self.consumer.stop()
        await self.partitions.close()

    async def _connect(self) -> None:
        """Start the consumer, waiting for the broker as long as it takes."""
        assert self.consumer is not None
        started, delay = time.monotonic(), 1.0
        while not self.should_stop:
            try:
                await self.consumer.start()
                return
            except KafkaError as exc:
                log.warning(
                    "Kafka at %s is not answering (%s) after %.0f s; retrying in %.0f s",
                    self.settings.kafka_bootstrap,
                    first_line(exc, 200),
                    time.monotonic() - started,
                    delay,
                )
                await self.sleep(delay)
                delay = min(delay * 2, 30.0)

    @Service.timer(1.0)
    async def _report_waiting(self) -> None:
        # A timer of its own: while a group join keeps failing, aiokafka's getmany does not
        # return to `_consume` at all, and that is when the operator most needs the line.
        self.watch.report_waiting()

    @Service.task
    async def _consume(self) -> None:
        await self._connect()
        assert self.consumer is not None
        in_flight: asyncio.Future[None] | None = None
        while not self.should_stop:
            if self.rewind:
                if in_flight is not None:
                    await in_flight
                    in_flight = None
                await self._rewind()
                continue
            generation = self.generation
            batch, ends = await self._assemble(generation)
            if not batch:
                continue
            prepared = self.prepare(batch)
            if in_flight is not None:
                await in_flight
            if self.generation != generation:
                self._discarded(len(batch))
                continue
            in_flight = asyncio.ensure_future(
                self._write_and_commit(prepared, ends, generation, len(batch))
            )
            # Let the write reach its insert thread now: getmany often returns without
            # yielding, and the next prepare would then hold the loop before the insert began.
            await asyncio.sleep(0)
        if in_flight is not None:
            await in_flight

    async def _rewind(self) -> None:
        """Every owned partition back to its committed offset (where written batches end) or,
        for a new incarnation, to its beginning; no write is under way."""
        assert self.consumer is not None
        generation = self.generation
        self.rewind = False
        for tp in sorted(self.consumer.assignment()):
            try:
                if (tp.topic, tp.partition) in self.from_beginning:
                    await self.consumer.seek_to_beginning(tp)
                    continue
                committed = await self.consumer.committed(tp)
                if committed is None:
                    await self.consumer.seek_to_beginning(tp)
                else:
                    self.consumer.seek(tp, committed)
            except (IllegalStateError, KafkaError) as exc:
                if self.generation == generation:  # not a rebalance meanwhile: try again
                    log.warning("cannot rewind %s (%s); retrying", tp, first_line(exc, 200))
                    self.rewind = True
                    await self.sleep(1.0)
                return
        self.from_beginning.clear()
        if self.generation != generation:
            self.rewind = True  # rebalanced meanwhile: records fetched since are stale too

    async def _assemble(
        self, generation: int
    ) -> tuple[list[FetchedRecord], dict[TopicPartition, int]]:
        """Records fetched under one assignment, each offset once, and per partition the offset
        to commit (one past its last record); empty if the assignment changed meanwhile."""
        assert self.consumer is not None
        size, linger = self.settings.sink_batch_messages, self.settings.sink_linger_seconds
        max_bytes = self.settings.sink_batch_bytes
        batch: list[FetchedRecord] = []
        ends: dict[TopicPartition, int] = {}
        deadline = None
        batch_bytes = 0
        while len(batch) < size and batch_bytes < max_bytes:
            wait = linger if deadline is None else max(0.0, deadline - time.monotonic())
            fetched = await self.consumer.getmany(
                timeout_ms=int(wait * 1000), max_records=size - len(batch)
            )
            if self.generation != generation:
                self._discarded(len(batch) + sum(len(r) for r in fetched.values()))
                return [], {}
            for tp, records in fetched.items():
                end = ends.get(tp)
                if end is not None and records[0].offset < end:
                    # Never twice in a batch, whatever moved the position back.
                    records = [r for r in records if r.offset >= end]
                    if not records:
                        continue
                batch.extend(records)
                ends[tp] = records[-1].offset + 1
                batch_bytes += census(records)[1]  # (in C: a pass in Python was 1.7% of a drain)
            if batch and deadline is None:
                deadline = time.monotonic() + linger
            if (deadline is not None and time.monotonic() >= deadline) or self.should_stop:
                break
        return batch, ends

    def _discarded(self, messages: int) -> None:
        self.rewind = True
        if messages:
            log.info(
                "assignment changed: %d fetched messages dropped, to be read again from the "
                "committed offsets",
                messages,
            )
            telemetry.batch_discarded(messages)

    async def _write_and_commit(
        self, prepared: T, ends: dict[TopicPartition, int], generation: int, messages: int
    ) -> None:
        assert self.consumer is not None
        async with self.batch_lock:
            if self.generation != generation:  # revoked while waiting for the lock
                self._discarded(messages)
                return
            written = await self.write(prepared, self.partitions)
            if written.reread:
                # A new incarnation past its start: read it again from its beginning, and
                # drop every batch in progress (they follow this one).
                self.generation += 1
                self.from_beginning |= written.reread
                self._discarded(messages)
                return
            try:
                await self._commit(ends)
            except (CommitFailedError, KafkaError) as exc:
                # The rows are stored; a replay of this batch is skipped by the sink's marks.
                log.warning(
                    "offset commit failed (%s): the batch will be read again and skipped",
                    first_line(exc, 200),
                )

    async def _commit(self, ends: dict[TopicPartition, int]) -> None:
        """Commit `ends`, giving up the partitions whose topic has gone meanwhile.

        aiokafka retries a commit that the broker refuses with UnknownTopicOrPartition until
        the topic exists again, and the revoke that follows a deletion waits for this write
        to end: the worker would hang until someone re-created the topic. The given-up rows
        are stored and their marks skip a replay; a new incarnation is read from its start."""
        assert self.consumer is not None
        while ends:
            commit = asyncio.ensure_future(self.consumer.commit(ends))
            gone: set[TopicPartition] = set()
            while not gone:
                done, _ = await asyncio.wait({commit}, timeout=_COMMIT_CHECK_SECONDS)
                if done:
                    commit.result()
                    return
                gone = {tp for tp in ends if tp.partition not in self._partitions_of(tp.topic)}
            commit.cancel()
            await asyncio.wait({commit})
            if not commit.cancelled() and commit.exception() is None:
                return  # it went through just before the cancel
            log.warning(
                "offset commit given up for %s: no longer in the broker's metadata (topic "
                "deleted); the rows are stored",
                ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(gone)),
            )
            ends = {tp: offset for tp, offset in ends.items() if tp not in gone}

    def _partitions_of(self, topic: str) -> set[int]:
        assert self.consumer is not None
        return self.consumer.partitions_for_topic(topic) or set()
