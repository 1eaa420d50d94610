"""logs.raw → parse and enrich → ClickHouse (rows and dead letters) → logs.deadletter."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import faust
from aiokafka.structs import ConsumerRecord

from pipeline.consumer import IngestConsumer
from pipeline.ingest import Dropped, Ingestor
from pipeline.message import Message
from pipeline.settings import Settings
from pipeline.sink import ClickHouseSink
from pipeline.telemetry import IngestCounters, Tally
from schemas.records import DeadLetter, LogRecord


@dataclass(slots=True)
class Prepared:
    """A parsed batch, waiting for its turn to be written."""

    tally: Tally
    # The (topic, partition) pairs the batch came from.
    partitions: frozenset[tuple[str, int]]
    items: list[tuple[Message, int, LogRecord | DeadLetter]] = field(default_factory=list)


def register(
    app: faust.App, settings: Settings, sink: ClickHouseSink, counters: IngestCounters
) -> IngestConsumer[Prepared]:
    ingestor = Ingestor(settings)
    deadletters = app.topic(settings.topic_deadletter, key_serializer="raw", value_serializer="raw")

    def prepare(records: list[ConsumerRecord]) -> Prepared:
        tally = Tally(messages=Counter(r.topic for r in records))
        prepared = Prepared(tally, frozenset((r.topic, r.partition) for r in records))
        for r in records:
            message = ingestor.message(
                r.topic, r.partition, r.offset, r.timestamp, r.value, r.key, r.headers
            )
            outcomes = ingestor.process(message)
            tally.events[r.topic] += len(outcomes)
            for index, outcome in enumerate(outcomes):
                if isinstance(outcome, Dropped):
                    tally.dropped += 1
                else:
                    if type(outcome) is LogRecord:
                        tally.formats[outcome.format] += 1
                    prepared.items.append((message, index, outcome))
        return prepared

    async def write(prepared: Prepared, owned: frozenset[tuple[str, int]]) -> None:
        items = (
            prepared.items
            if prepared.partitions <= owned
            else [i for i in prepared.items if (i[0].topic, i[0].partition) in owned]
        )
        result = await sink.write(items)
        letters = [o for _, _, o in items if isinstance(o, DeadLetter)] + result.rejected
        for letter in letters:
            await deadletters.send(key=letter.reason.encode(), value=letter.to_json())
        counters.batch_written(prepared.tally, result, letters)

    async def forget_progress(owned: frozenset[tuple[str, int]]) -> None:
        sink.forget_progress(owned)

    # Offsets are committed by the consumer only after `handle` returned for the batch.
    consumer = IngestConsumer(settings, prepare, write, forget_progress)
    app.service(consumer)  # type: ignore[arg-type]
    return consumer
