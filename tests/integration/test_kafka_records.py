"""The columnar worker reads its fetches as KafkaRecords (pipeline/ingest/kafka_records.py)
from real record batches: uncompressed ones in C, each codec's through aiokafka, keys and
headers as sent; every row stored once, with its Kafka facts, through the real broker."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer

from pipeline.bench.producer import Produced
from pipeline.settings import Settings
from tests.support.stack import run, wait_accounted

pytestmark = pytest.mark.integration

CODECS = (None, "gzip", "snappy", "lz4", "zstd")


async def _send_with_each_codec(settings: Settings, per_codec: int) -> tuple[Produced, list[bytes]]:
    """`per_codec` lines from a producer of each codec, some keyed and some with a header."""
    produced, sent = Produced(settings.topic_raw), []
    for codec in CODECS:
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap, compression_type=codec, linger_ms=50
        )
        await producer.start()
        try:
            futures = []
            for i in range(per_codec):
                line = f'level=info msg="{codec or "none"} line {i}" n={i}'.encode()
                futures.append(
                    await producer.send(
                        settings.topic_raw,
                        line,
                        key=b"keyed-svc" if i % 3 == 0 else None,
                        headers=[("host", b"header-host")] if i % 5 == 0 else None,
                    )
                )
                sent.append(line)
            for future in futures:
                meta = await future
                low, high = produced.ranges.get(meta.partition, (meta.offset, meta.offset))
                produced.ranges[meta.partition] = (min(low, meta.offset), max(high, meta.offset))
                produced.count += 1
        finally:
            await producer.stop()
    return produced, sent


def test_every_codec_s_batches_are_stored_once_with_their_kafka_facts(
    pipeline_settings, clickhouse, worker
):
    assert pipeline_settings.ingest_path == "columnar"
    produced, sent = run(_send_with_each_codec(pipeline_settings, 400))
    accounted = wait_accounted(clickhouse, produced, 90, f"{produced.count} rows", worker)
    assert (accounted.stored, accounted.dead_lettered, accounted.duplicates) == (2000, 0, 0)
    bodies = {row[0] for row in clickhouse.query("SELECT Body FROM otel_logs").result_rows}
    assert bodies == {line.split(b'msg="')[1].split(b'"')[0].decode() for line in sent}
    # The key and header of a message reach its row as the enrichers read them.
    [(keyed, with_header, kafka_times)] = clickhouse.query(
        "SELECT countIf(ServiceName = 'keyed-svc'), "
        "countIf(ResourceAttributes['host.name'] = 'header-host'), "
        "countIf(abs(dateDiff('second', KafkaTimestamp, now())) < 600) FROM otel_logs"
    ).result_rows
    assert (keyed, with_header, kafka_times) == (5 * 134, 5 * 80, 2000)
    assert "columnar prepare step failed" not in worker.log_text()
