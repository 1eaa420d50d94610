"""logs.raw → parse and enrich → ClickHouse (rows and dead letters) → logs.deadletter."""

from __future__ import annotations

import faust

from pipeline.ingest import Dropped, Ingestor
from pipeline.message import Message
from pipeline.settings import Settings
from pipeline.sink import ClickHouseSink
from pipeline.telemetry import IngestCounters
from schemas.records import DeadLetter, LogRecord


def register(
    app: faust.App, settings: Settings, sink: ClickHouseSink, counters: IngestCounters
) -> None:
    ingestor = Ingestor(settings)
    raw = app.topic(settings.topic_raw, key_serializer="raw", value_serializer="raw")
    deadletters = app.topic(settings.topic_deadletter, key_serializer="raw",
                            value_serializer="raw")

    @app.on_partitions_assigned.connect
    async def forget_progress(*_args: object, **_kwargs: object) -> None:
        sink.forget_progress()

    @app.agent(raw, name="ingest")
    async def ingest(stream: faust.StreamT) -> None:
        # Events of a batch are acknowledged (and so their offsets committed) only when the
        # loop asks for the next batch, which is after the sink has written this one.
        async for events in stream.take_events(
            settings.sink_batch_size, within=settings.sink_linger_seconds
        ):
            items: list[tuple[Message, int, LogRecord | DeadLetter]] = []
            dropped = events_in_batch = 0
            for event in events:
                m = event.message
                message = ingestor.message(
                    m.topic, m.partition, m.offset, int(m.timestamp * 1000), event.value,
                    m.key, m.headers,
                )
                for index, outcome in enumerate(ingestor.process(message)):
                    events_in_batch += 1
                    if isinstance(outcome, Dropped):
                        dropped += 1
                    else:
                        items.append((message, index, outcome))
            result = await sink.write(items)
            dead = [o for _, _, o in items if isinstance(o, DeadLetter)] + result.rejected
            for letter in dead:
                await deadletters.send(key=letter.reason.encode(), value=letter.to_json())
            counters.batch_written(len(events), events_in_batch, dropped, result)
