"""The worker's /metrics and /health agree with what really reached ClickHouse."""

from __future__ import annotations

import urllib.request

import orjson
import pytest

from pipeline.bench.producer import produce
from pipeline.bench.sample import SampleTraffic, bad_inputs
from pipeline.observe.scrape import scrape, worker_url
from pipeline.settings import Settings
from pipeline.stack.process import free_port
from tests.support.stack import logweir, run, wait_accounted, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def pipeline_settings(pipeline_settings: Settings) -> Settings:
    """The isolated pipeline, with the worker's metrics on a port no other worker holds."""
    return pipeline_settings.model_copy(update={"metrics_port": free_port()})


def test_counters_match_the_rows_in_clickhouse(pipeline_settings, clickhouse, worker):
    messages = list(SampleTraffic(seed=11).lines(800)) + bad_inputs()
    produced = run(produce(pipeline_settings, messages))
    accounted = wait_accounted(
        clickhouse, produced, 90, "every message stored or dead-lettered", worker
    )
    url = worker_url(pipeline_settings)
    # Counted right after the insert returned: a scrape may be a moment behind ClickHouse.
    wait_for(
        lambda: scrape(url)[0].total("logweir_consumed_messages_total") >= produced.count,
        15,
        "the consumed counter to catch up",
        worker,
    )

    metrics, health = scrape(url)
    assert metrics.by("logweir_consumed_messages_total", "topic") == {
        pipeline_settings.topic_raw: produced.count
    }
    events = metrics.total("logweir_events_total")
    stored = metrics.total("logweir_stored_events_total")
    dead = metrics.total("logweir_deadletters_total")
    assert (stored, dead) == (accounted.stored, accounted.dead_lettered)
    assert stored + dead == events
    assert metrics.total("logweir_dropped_events_total") == 0
    assert metrics.total("logweir_skipped_events_total") == 0

    reasons = dict(
        clickhouse.query("SELECT Reason, count() FROM logs_deadletter GROUP BY Reason").result_rows
    )
    assert metrics.by("logweir_deadletters_total", "reason") == reasons
    formats = dict(
        clickhouse.query("SELECT LogFormat, count() FROM otel_logs GROUP BY LogFormat").result_rows
    )
    assert metrics.by("logweir_parsed_events_total", "format") == formats

    assert metrics.total("logweir_sink_insert_seconds_count") >= 1
    assert metrics.total("logweir_sink_batch_rows_sum") == stored + dead
    lags = metrics.samples["logweir_consumer_lag"]
    assert lags and set(lags.values()) == {0.0}

    with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
        assert response.status == 200
        assert orjson.loads(response.read()) == {
            "status": "ok",
            "broker": True,
            "clickhouse": True,
            "lag": 0,
            "lag_ok": True,
            "partitions": pipeline_settings.topic_partitions,
            "reasons": [],
        }
    assert health is not None and health["status"] == "ok"

    shown = logweir(pipeline_settings, "status", "--once")
    assert shown.returncode == 0, shown.stderr
    assert "throughput" in shown.stdout and "consumer lag" in shown.stdout
    assert f"{produced.count:,}" in shown.stdout  # messages consumed, in total
    assert pipeline_settings.topic_raw in shown.stdout  # a lag row per partition
    assert "empty" in shown.stdout  # a dead-letter reason


def test_status_without_a_worker_says_how_to_start_one(pipeline_settings):
    shown = logweir(pipeline_settings, "status", "--once")
    assert shown.returncode == 1
    assert shown.stderr.strip() == (
        f"error: no worker metrics at {worker_url(pipeline_settings)}: is `logweir worker` running?"
    )
