"""logs.raw → worker → ClickHouse through the real broker and the real ClickHouse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from pipeline.bench.accounting import account
from pipeline.bench.producer import Produced, produce
from pipeline.bench.sample import SampleTraffic, bad_inputs
from pipeline.settings import DEFAULT_ENRICHERS, Settings
from tests.support.stack import WorkerProcess, run, wait_for

pytestmark = pytest.mark.integration


def _all_accounted(clickhouse, produced: Produced) -> bool:  # type: ignore[no-untyped-def]
    return account(clickhouse, produced).messages >= produced.count


async def _committed(settings: Settings, produced: Produced) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.ingest_group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        return {
            p: await consumer.committed(TopicPartition(produced.topic, p)) for p in produced.ranges
        }
    finally:
        await consumer.stop()


def test_every_line_becomes_exactly_one_row(pipeline_settings, clickhouse, worker):
    # An hour ago: well inside retention, and visibly the log's own time, not the Kafka time.
    when = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=123456)
    known = orjson.dumps(
        {
            "ts": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": "warning",
            "service": "billing",
            "host": "billing-7",
            "msg": "card declined",
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "span_id": "00f067aa0ba902b7",
            "http": {"status": 402},
            "retry": True,
        }
    )
    messages = [(None, known)] + list(SampleTraffic(seed=1).lines(3000))
    produced = run(produce(pipeline_settings, messages))
    assert produced.count == 3001

    wait_for(lambda: _all_accounted(clickhouse, produced), 90, "3001 rows", worker)
    accounted = account(clickhouse, produced)
    assert (accounted.stored, accounted.dead_lettered, accounted.duplicates) == (3001, 0, 0)

    row = clickhouse.query(
        "SELECT Timestamp, SeverityText, SeverityNumber, ServiceName, Body, TraceId, SpanId, "
        "ResourceAttributes, LogAttributes, LogFormat "
        "FROM otel_logs WHERE Body = 'card declined'"
    ).named_results()
    (found,) = list(row)
    assert found["Timestamp"].isoformat().startswith(when.strftime("%Y-%m-%dT%H:%M:%S.123456"))
    assert (found["SeverityText"], found["SeverityNumber"]) == ("WARN", 13)
    assert found["ServiceName"] == "billing"
    assert found["ResourceAttributes"] == {"service.name": "billing", "host.name": "billing-7"}
    assert (found["TraceId"], found["SpanId"]) == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    )
    assert found["LogAttributes"] == {"http.status": "402", "retry": "true"}
    assert found["LogFormat"] == "json"

    # Offsets are committed once the rows are stored: the next offset after each partition's last.
    def committed_to_end() -> bool:
        committed = run(_committed(pipeline_settings, produced))
        return all(committed[p] == hi + 1 for p, (_, hi) in produced.ranges.items())

    wait_for(committed_to_end, 30, "offsets committed to the end", worker)


def test_a_worker_without_the_template_enricher_stores_every_row_on_the_columnar_path(
    pipeline_settings, clickhouse
):
    """The columnar step once failed every batch without this enricher (no TemplateId values)
    and fell back to the record path unseen; rows must land, with LogRecord's defaults."""
    settings = pipeline_settings.model_copy(
        update={"enrichers": [e for e in DEFAULT_ENRICHERS if e != "template"]}
    )
    assert settings.ingest_path == "columnar"
    worker = WorkerProcess(
        settings, settings.state_dir / "runs" / settings.app_id / "no-templates.log"
    )
    worker.start()
    try:
        produced = run(produce(settings, list(SampleTraffic(seed=2).lines(1500))))
        wait_for(lambda: _all_accounted(clickhouse, produced), 90, "1500 rows", worker)
        accounted = account(clickhouse, produced)
        assert (accounted.stored, accounted.duplicates) == (produced.count, 0)
        [(rows, templated)] = clickhouse.query(
            "SELECT count(), countIf(TemplateId != 0 OR Template != '') FROM otel_logs"
        ).result_rows
        assert (rows, templated) == (produced.count, 0)
        assert "columnar prepare step failed" not in worker.log_text()
    finally:
        worker.stop()


def test_bad_input_is_stored_or_dead_lettered_with_a_reason(pipeline_settings, clickhouse, worker):
    inputs = bad_inputs()
    produced = run(produce(pipeline_settings, inputs))
    wait_for(lambda: _all_accounted(clickhouse, produced), 90, "every bad input", worker)
    accounted = account(clickhouse, produced)
    assert accounted.messages == len(inputs) and accounted.duplicates == 0
    assert worker.alive()

    reasons = dict(
        clickhouse.query("SELECT Reason, count() FROM logs_deadletter GROUP BY Reason").result_rows
    )
    assert reasons == {"empty": 2}
    flags = dict(
        clickhouse.query(
            "SELECT arrayJoin(IngestFlags) AS f, count() FROM otel_logs GROUP BY f"
        ).result_rows
    )
    assert flags["truncated"] == 1  # the 5 MB line, cut to max_body_bytes
    assert flags["invalid_utf8"] >= 1
    longest = clickhouse.query("SELECT max(length(Body)) FROM otel_logs").result_rows[0][0]
    assert longest <= pipeline_settings.max_body_bytes

    async def read_deadletter_topic() -> list[dict]:
        consumer = AIOKafkaConsumer(
            pipeline_settings.topic_deadletter,
            bootstrap_servers=pipeline_settings.kafka_bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            batches = await consumer.getmany(timeout_ms=5000)
            return [orjson.loads(m.value) for msgs in batches.values() for m in msgs]
        finally:
            await consumer.stop()

    letters = run(read_deadletter_topic())
    assert sorted(d["reason"] for d in letters) == ["empty", "empty"]
    assert all(d["topic"] == pipeline_settings.topic_raw for d in letters)


def test_replay_after_restart_does_not_duplicate(pipeline_settings, clickhouse, worker):
    produced = run(produce(pipeline_settings, SampleTraffic(seed=2).lines(4000)))
    wait_for(lambda: account(clickhouse, produced).stored > 1000, 60, "first rows", worker)
    worker.kill()  # mid-stream, without a final commit
    worker.start()
    wait_for(lambda: _all_accounted(clickhouse, produced), 90, "all rows after restart", worker)

    # A new consumer group starts from offset 0: every message is consumed a second time.
    worker.stop()
    replay = WorkerProcess(
        pipeline_settings.model_copy(update={"app_id": pipeline_settings.app_id + "-replay"}),
        worker.log_path.with_name("replay.log"),
    )
    more = run(produce(pipeline_settings, SampleTraffic(seed=3).lines(500)))
    replay.start()
    try:
        wait_for(lambda: _all_accounted(clickhouse, more), 90, "rows after replay", replay)
    finally:
        replay.stop()

    first, second = account(clickhouse, produced), account(clickhouse, more)
    assert (first.stored, first.duplicates) == (4000, 0)
    assert (second.stored, second.duplicates) == (500, 0)
    total = clickhouse.query("SELECT count() FROM otel_logs").result_rows[0][0]
    assert total == 4500
