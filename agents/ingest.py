"""logs.raw → parse and enrich → ClickHouse (rows and dead letters) → logs.deadletter."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import faust
from aiokafka.structs import ConsumerRecord

from pipeline.ingest.consumer import IngestConsumer, Written
from pipeline.ingest.ingestor import Ingestor
from pipeline.observe.telemetry import IngestCounters, Tally
from pipeline.settings import Settings
from pipeline.sink import ClickHouseSink, PartitionLog, Row, log_row
from schemas.records import DeadLetter, LogRecord


@dataclass(slots=True)
class Prepared:
    """A parsed batch, waiting for its turn to be written."""

    tally: Tally
    # Rows are built here, while each record is fresh in the CPU cache, not when written.
    log_rows: list[Row] = field(default_factory=list)
    # Each with its event index in the message.
    dead_letters: list[tuple[DeadLetter, int]] = field(default_factory=list)


def build(
    app: faust.App, settings: Settings, sink: ClickHouseSink, counters: IngestCounters
) -> IngestConsumer[Prepared]:
    """The ingest consumer, for the worker to start before the Faust app (see its docstring)."""
    ingestor = Ingestor(settings)
    deadletters = app.topic(settings.topic_deadletter, key_serializer="raw", value_serializer="raw")

    def prepare(records: list[ConsumerRecord]) -> Prepared:
        tally = Tally(messages=Counter(r.topic for r in records))
        prepared = Prepared(tally)
        formats, log_rows, dead_letters = tally.formats, prepared.log_rows, prepared.dead_letters
        for r in records:
            message = ingestor.message(
                r.topic, r.partition, r.offset, r.timestamp, r.value, r.key, r.headers
            )
            outcomes = ingestor.process(message)
            tally.events[r.topic] += len(outcomes)
            for index, outcome in enumerate(outcomes):
                if type(outcome) is LogRecord:
                    formats[outcome.format] += 1
                    log_rows.append(log_row(outcome, message, index))
                elif type(outcome) is DeadLetter:
                    dead_letters.append((outcome, index))
                else:
                    tally.dropped += 1
        return prepared

    async def write(prepared: Prepared, kafka: PartitionLog) -> Written:
        dead = prepared.dead_letters
        result = await sink.write(prepared.log_rows, dead, kafka)
        if result.reread:
            return Written(frozenset(result.reread))
        letters = [d for d, _ in dead] + result.rejected
        for letter in letters:
            await deadletters.send(key=letter.reason.encode(), value=letter.to_json())
        counters.batch_written(prepared.tally, result, letters)
        return Written()

    async def forget_progress(owned: frozenset[tuple[str, int]]) -> None:
        sink.forget_progress(owned)

    return IngestConsumer(settings, prepare, write, forget_progress)
