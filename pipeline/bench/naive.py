"""The baseline the benchmark compares against: a Faust agent written the obvious way.

Per event: iterate the Faust stream, prepare it as the worker does (parse, enrich, row), and
insert the rows into ClickHouse every `sink_batch_messages` messages (or on a 0.5 s timer).
Same prepare step and same table as the real worker; what it lacks is the batch consumer, the
overlap of parsing with inserting, and the exactly-once bookkeeping.

Run as `python -m pipeline.bench.naive` with LOGWEIR_* settings in the environment.
"""

from __future__ import annotations

import asyncio

from faust.worker import Worker

from pipeline.app import create_app
from pipeline.clickhouse import connect
from pipeline.ingest.batch import Batch
from pipeline.ingest.ingestor import Ingestor
from pipeline.settings import Settings
from pipeline.sink import LOG_COLUMNS


def main() -> None:
    settings = Settings()
    app = create_app(settings)
    topic = app.topic(settings.topic_raw, key_serializer="raw", value_serializer="raw")
    ingestor = Ingestor(settings)
    client = connect(settings)
    pending = Batch()

    async def flush() -> None:
        nonlocal pending
        if pending.log_rows:
            rows, pending = pending.log_rows, Batch()
            await asyncio.to_thread(
                client.insert, "otel_logs", rows.rows(), column_names=LOG_COLUMNS
            )

    @app.agent(topic, name="naive")
    async def naive(stream):  # type: ignore[no-untyped-def]
        messages = 0
        async for event in stream.events():
            m = event.message
            pending.add(
                ingestor,
                ingestor.message(
                    m.topic,
                    m.partition,
                    m.offset,
                    int(m.timestamp * 1000),
                    event.value,
                    m.key,
                    m.headers,
                ),
            )
            messages += 1
            if messages >= settings.sink_batch_messages:
                messages = 0
                await flush()

    @app.timer(0.5)
    async def flush_tail() -> None:
        await flush()

    Worker(app, loglevel="info", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
