"""What is already stored, per Kafka partition and incarnation; and the insert tokens.

Exactly-once rests on two facts kept in ClickHouse by materialized views, in the same insert
as the rows (`ingest_progress`): per table, partition and incarnation, the highest offset
stored (the mark) and the Kafka timestamp of the record at that offset (its witness).

A Kafka offset means something only within one incarnation of a partition: a broker that lost
its data, or a topic deleted and re-created, starts offsets again at 0 with other records. So
a mark is trusted only after its witness was checked against the broker: on the first batch of
a partition after every assignment, and whenever a batch reaches back to or below the mark
(a replay, or offsets that went backwards). The check compares the Kafka timestamp of the
record now at the mark's offset with the witness:

- the same (or the mark has no witness, from before witnesses were kept, and the broker still
  has that offset): the same incarnation; events at or below the mark are skipped as stored;
- different, or the broker no longer has that offset (its high watermark is at or below it):
  a new incarnation, said loudly in the log and counted in a metric. Its rows carry the next
  incarnation number, so its marks start afresh and old marks can never hide new records. If
  the batch began past the partition's first offset (a position or committed offset carried
  over from the old incarnation), the consumer re-reads the partition from its beginning.

Insert tokens name the incarnation and the Kafka timestamps at both ends of each offset range,
so a batch of a new incarnation is never taken for one ClickHouse already saw.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from clickhouse_connect.driver.client import Client

from pipeline.observe import telemetry
from pipeline.sink.tables import COORDINATES, TableRows

log = logging.getLogger("logweir.sink")

TopicPartition = tuple[str, int]


class PartitionLog(Protocol):
    """What the sink asks Kafka about a partition it is writing."""

    def highwater(self, topic: str, partition: int) -> int | None:
        """The high watermark of the last fetch (one past the last offset), if known."""
        ...

    async def timestamp_at(self, topic: str, partition: int, offset: int) -> int | None:
        """The Kafka timestamp (ms) of the record at `offset`, or None if there is none."""
        ...


@dataclass(slots=True)
class Span:
    """One partition's rows in a batch: offset range, row count, Kafka timestamps at the ends."""

    low: int
    high: int
    rows: int
    low_timestamp: int
    high_timestamp: int


def spans(table: str, rows: TableRows) -> dict[TopicPartition, Span]:
    """(topic, partition) → its Span, in one pass over the rows' coordinate columns."""
    c = COORDINATES[table]
    coordinates = zip(
        rows.column(c.topic),
        rows.column(c.partition),
        rows.column(c.offset),
        rows.column(c.timestamp),
        strict=True,
    )
    found: dict[TopicPartition, Span] = {}
    for topic, partition, offset, ts in coordinates:
        key: TopicPartition = (topic, partition)  # type: ignore[assignment]
        span = found.get(key)
        if span is None:
            found[key] = Span(offset, offset, 1, ts, ts)  # type: ignore[arg-type]
            continue
        if offset < span.low:  # type: ignore[operator]
            span.low, span.low_timestamp = offset, ts  # type: ignore[assignment]
        elif offset > span.high:  # type: ignore[operator]
            span.high, span.high_timestamp = offset, ts  # type: ignore[assignment]
        span.rows += 1
    return found


def token(
    table: str, found: dict[TopicPartition, Span], incarnations: dict[TopicPartition, int]
) -> str:
    """The insert deduplication token: the same for the same rows of the same incarnation."""
    key = ";".join(
        f"{t}/{p}/{incarnations.get((t, p), 0)}/{s.low}-{s.high}/{s.rows}/"
        f"{s.low_timestamp}-{s.high_timestamp}"
        for (t, p), s in sorted(found.items())
    )
    return hashlib.sha1(f"{table}|{key}".encode()).hexdigest()


@dataclass(slots=True)
class Mark:
    offset: int = -1  # highest offset stored; -1: none
    witness: int = 0  # Kafka timestamp (ms) of the record at `offset`; 0: not known


@dataclass(slots=True)
class PartitionProgress:
    incarnation: int = 0
    marks: dict[str, Mark] = field(default_factory=dict)
    # The witness was checked against the broker since the partition was (re)assigned.
    checked: bool = False

    def mark(self, table: str) -> Mark:
        found = self.marks.get(table)
        if found is None:
            found = self.marks[table] = Mark()
        return found

    def highest(self) -> Mark:
        return max(self.marks.values(), key=lambda m: m.offset, default=Mark())


@dataclass(slots=True)
class Plan:
    """What a batch may write: the incarnation of each partition; or, if any partition was
    found to be a new incarnation past its start, nothing: those are read again from their
    beginning."""

    incarnations: dict[TopicPartition, int] = field(default_factory=dict)
    reread: set[TopicPartition] = field(default_factory=set)


PROGRESS_QUERY = (
    "SELECT TargetTable, KafkaTopic, KafkaPartition, KafkaIncarnation, max(MaxOffset), "
    "toUnixTimestamp64Milli(argMaxMerge(MarkTimestamp)) "
    "FROM ingest_progress WHERE KafkaTopic IN {topics:Array(String)} "
    "GROUP BY TargetTable, KafkaTopic, KafkaPartition, KafkaIncarnation"
)


def read_progress(client: Client, topics: list[str]) -> list[tuple[str, str, int, int, int, int]]:
    """Stored progress of every partition of `topics`, every incarnation (client thread)."""
    rows = client.query(PROGRESS_QUERY, parameters={"topics": topics}).result_rows
    return [tuple(r) for r in rows]  # type: ignore[misc]


class Progress:
    """The sink's view of `ingest_progress` for the partitions it owns; see the module doc."""

    def __init__(self) -> None:
        self._partitions: dict[TopicPartition, PartitionProgress] = {}
        # Owned partitions whose stored progress has not been read since the last assignment.
        self._unloaded: set[TopicPartition] = set()

    def forget(self, owned: Iterable[TopicPartition]) -> None:
        """After a rebalance: another worker may have stored more, and the broker may be another
        incarnation; the next write reads the progress of every owned partition in one query
        and checks each partition's witness on its first batch."""
        self._partitions.clear()
        self._unloaded = set(owned)

    def to_load(self, batch: Iterable[TopicPartition]) -> set[TopicPartition]:
        return {tp for tp in self._unloaded.union(batch) if tp not in self._partitions}

    def loaded(
        self, wanted: set[TopicPartition], rows: list[tuple[str, str, int, int, int, int]]
    ) -> None:
        """Take what `read_progress` returned: per partition, its newest incarnation's marks."""
        newest: dict[TopicPartition, int] = {}
        for _, topic, partition, incarnation, _, _ in rows:
            tp = (topic, partition)
            newest[tp] = max(incarnation, newest.get(tp, 0))
        for tp in wanted:
            self._partitions[tp] = PartitionProgress(newest.get(tp, 0))
        for table, topic, partition, incarnation, offset, witness in rows:
            progress = self._partitions.get((topic, partition))
            if progress is not None and incarnation == progress.incarnation:
                progress.marks[table] = Mark(offset, witness)
        self._unloaded.clear()

    def mark(self, table: str, tp: TopicPartition) -> int:
        progress = self._partitions.get(tp)
        return -1 if progress is None else progress.mark(table).offset

    def incarnation(self, tp: TopicPartition) -> int:
        progress = self._partitions.get(tp)
        return 0 if progress is None else progress.incarnation

    async def plan(self, batch: dict[str, dict[TopicPartition, Span]], kafka: PartitionLog) -> Plan:
        """Check the witness of every partition that needs it (see the module docstring)."""
        plan = Plan()
        lows: dict[TopicPartition, int] = {}
        for found in batch.values():
            for tp, span in found.items():
                lows[tp] = min(span.low, lows.get(tp, span.low))
        for tp, low in lows.items():
            progress = self._partitions.setdefault(tp, PartitionProgress())
            mark = progress.highest()
            needs_check = mark.offset >= 0 and (not progress.checked or low <= mark.offset)
            if needs_check and not await self._same_incarnation(tp, mark, batch, kafka):
                self._begin_incarnation(tp, progress, mark, low)
                if low > 0:
                    plan.reread.add(tp)
            progress.checked = True
            plan.incarnations[tp] = progress.incarnation
        return plan

    async def _same_incarnation(
        self,
        tp: TopicPartition,
        mark: Mark,
        batch: dict[str, dict[TopicPartition, Span]],
        kafka: PartitionLog,
    ) -> bool:
        highwater = kafka.highwater(*tp)
        if highwater is not None and highwater <= mark.offset:
            return False  # the broker has fewer records than were stored: offsets went back
        if mark.witness == 0:
            return True  # stored before witnesses were kept: the broker still has the offset
        witness = _witness_in_batch(mark.offset, tp, batch)
        if witness is None:
            witness = await kafka.timestamp_at(tp[0], tp[1], mark.offset)
        return witness == mark.witness

    def _begin_incarnation(
        self, tp: TopicPartition, progress: PartitionProgress, mark: Mark, low: int
    ) -> None:
        progress.incarnation += 1
        progress.marks.clear()
        log.warning(
            "%s[%d]: Kafka offsets went back: offset %d was stored from another record than the "
            "broker now has (a broker that lost its data, or a topic deleted and re-created); "
            "storing this partition's records as incarnation %d from offset %d%s",
            tp[0],
            tp[1],
            mark.offset,
            progress.incarnation,
            low,
            ", after re-reading it from its beginning" if low > 0 else "",
        )
        telemetry.incarnation_started(tp[0])

    def remember(self, table: str, found: dict[TopicPartition, Span]) -> None:
        """Rows of `table` with these spans are stored."""
        for tp, span in found.items():
            progress = self._partitions.get(tp)
            if progress is None:  # forgotten at an assignment since: read again when needed
                continue
            mark = progress.mark(table)
            if span.high > mark.offset:
                mark.offset, mark.witness = span.high, span.high_timestamp


def _witness_in_batch(
    offset: int, tp: TopicPartition, batch: dict[str, dict[TopicPartition, Span]]
) -> int | None:
    """The Kafka timestamp of the record at `offset` if the batch holds it at a span's end."""
    for found in batch.values():
        span = found.get(tp)
        if span is not None:
            if span.low == offset:
                return span.low_timestamp
            if span.high == offset:
                return span.high_timestamp
    return None
