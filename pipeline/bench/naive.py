"""The baseline the benchmark compares against: a Faust agent written the obvious way.

Per event: iterate the Faust stream, parse and enrich, append the row to a list, and insert the
list into ClickHouse every `sink_batch_size` rows (or on a 0.5 s timer). Same parsers and same
table as the real worker; what it lacks is the batch consumer, the overlap of parsing with
inserting, and the exactly-once bookkeeping.

Run as `python -m pipeline.bench.naive` with LOGWEIR_* settings in the environment.
"""

from __future__ import annotations

import asyncio

from faust.worker import Worker

from pipeline.app import create_app
from pipeline.clickhouse import connect
from pipeline.ingest.ingestor import Ingestor
from pipeline.settings import Settings
from pipeline.sink import LOG_COLUMNS, log_row
from schemas.records import LogRecord


def main() -> None:
    settings = Settings()
    app = create_app(settings)
    topic = app.topic(settings.topic_raw, key_serializer="raw", value_serializer="raw")
    ingestor = Ingestor(settings)
    client = connect(settings)
    rows: list[tuple[object, ...]] = []

    async def flush() -> None:
        if rows:
            batch = rows[:]
            rows.clear()
            await asyncio.to_thread(client.insert, "otel_logs", batch, column_names=LOG_COLUMNS)

    @app.agent(topic, name="naive")
    async def naive(stream):  # type: ignore[no-untyped-def]
        async for event in stream.events():
            m = event.message
            message = ingestor.message(
                m.topic,
                m.partition,
                m.offset,
                int(m.timestamp * 1000),
                event.value,
                m.key,
                m.headers,
            )
            for index, outcome in enumerate(ingestor.process(message)):
                if isinstance(outcome, LogRecord):
                    rows.append(log_row(outcome, message, index))
            if len(rows) >= settings.sink_batch_size:
                await flush()

    @app.timer(0.5)
    async def flush_tail() -> None:
        await flush()

    Worker(app, loglevel="info", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
