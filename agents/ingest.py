"""logs.raw → parse and enrich → ClickHouse (rows and dead letters) → logs.deadletter."""

from __future__ import annotations

from functools import partial

import faust

from pipeline.ingest.batch import Batch, BatchWriter
from pipeline.ingest.columnar import prepare_step, reads_kafka_records
from pipeline.ingest.consumer import IngestConsumer
from pipeline.ingest.ingestor import Ingestor
from pipeline.observe.telemetry import IngestCounters
from pipeline.settings import Settings
from pipeline.sink import ClickHouseSink
from pipeline.sink.tables import LOGS_TABLE


def build(app: faust.App, settings: Settings, sink: ClickHouseSink) -> IngestConsumer[Batch]:
    """The ingest consumer, for the worker to start before the Faust app (see its docstring)."""
    deadletters = app.topic(settings.topic_deadletter, key_serializer="raw", value_serializer="raw")

    async def publish(key: bytes, value: bytes) -> None:
        await deadletters.send(key=key, value=value)

    writer = BatchWriter(sink, publish, IngestCounters())
    # The prepare step LOGWEIR_INGEST_PATH names (columnar or record by record); the columnar
    # one encodes its rows in the layout the sink inserts them in.
    prepare_batch = prepare_step(settings, Ingestor(settings), partial(sink.row_layout, LOGS_TABLE))
    return IngestConsumer(
        settings,
        prepare_batch,
        writer.write,
        sink.forget_progress,
        reads_kafka_records=reads_kafka_records(prepare_batch),
    )
