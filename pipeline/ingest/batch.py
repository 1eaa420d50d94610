"""A batch: the rows and dead letters a run of Kafka messages became, and what they held.

`prepare` is the record-by-record prepare step (the worker's with user hooks or
LOGWEIR_INGEST_PATH=per_record, and the naive baseline's; `columnar` has the default one):
each message is turned into records or dead letters by the Ingestor, and each record into its
otel_logs row at once, while it is fresh in the CPU cache, not when the batch is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pipeline.ingest.consumer import FetchedRecord, Written
from pipeline.ingest.ingestor import Ingestor
from pipeline.ingest.message import Message
from pipeline.observe.telemetry import IngestCounters, Tally
from pipeline.sink.progress import PartitionLog
from pipeline.sink.tables import TableRows, log_row
from pipeline.sink.writer import ClickHouseSink
from schemas.records import DeadLetter, LogRecord


@dataclass(slots=True)
class Batch:
    tally: Tally = field(default_factory=Tally)
    log_rows: TableRows = field(default_factory=TableRows)
    # Each with its event index in the message.
    dead_letters: list[tuple[DeadLetter, int]] = field(default_factory=list)
    # The Kafka records it came from (when it came from a consumer), for the dead letter of a
    # row ClickHouse refuses: it keeps the input as sent, not the row made of it.
    records: list[FetchedRecord] = field(default_factory=list)

    def original(self, topic: str, partition: int, offset: int) -> bytes | None:
        """The Kafka message at these coordinates, when the batch has it (a rare lookup)."""
        for r in self.records:
            if (r.offset, r.partition, r.topic) == (offset, partition, topic):
                return r.value or b""
        return None

    def add(self, ingestor: Ingestor, message: Message) -> None:
        """The rows, dead letters and counts of one message."""
        tally = self.tally
        outcomes = ingestor.process(message)
        tally.messages[message.topic] += 1
        tally.events[message.topic] += len(outcomes)
        for index, outcome in enumerate(outcomes):
            if type(outcome) is LogRecord:
                tally.formats[outcome.format] += 1
                self.log_rows.append(log_row(outcome, message, index))
            elif type(outcome) is DeadLetter:
                self.dead_letters.append((outcome, index))
            else:
                tally.dropped += 1


def prepare(ingestor: Ingestor, records: list[FetchedRecord]) -> Batch:
    """A batch of the records a Kafka consumer fetched."""
    batch = Batch(records=records)
    message = ingestor.message
    for r in records:
        batch.add(
            ingestor,
            message(r.topic, r.partition, r.offset, r.timestamp, r.value, r.key, r.headers),
        )
    return batch


# Publishes (key, value) to the dead-letter topic.
Publish = Callable[[bytes, bytes], Awaitable[None]]


class BatchWriter:
    """Writes a batch to ClickHouse, then publishes its dead letters (those made while
    parsing and those ClickHouse refused) and counts what became of it."""

    def __init__(self, sink: ClickHouseSink, publish: Publish, counters: IngestCounters) -> None:
        self.sink, self.publish, self.counters = sink, publish, counters

    async def write(self, batch: Batch, kafka: PartitionLog) -> Written:
        result = await self.sink.write(batch.log_rows, batch.dead_letters, kafka, batch.original)
        if result.reread:
            return Written(frozenset(result.reread))
        letters = [d for d, _ in batch.dead_letters] + result.rejected
        for letter in letters:
            await self.publish(letter.reason.encode(), letter.to_json())
        reasons = Counter(letter.reason for letter in letters)
        self.counters.batch_written(
            batch.tally, result.stored, result.dead_lettered, result.skipped, reasons
        )
        return Written()
