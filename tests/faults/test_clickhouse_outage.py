"""ClickHouse stopped under load, or not yet started: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from clickhouse_connect.driver.exceptions import ClickHouseError

from pipeline.bench.accounting import account
from pipeline.bench.producer import Produced, produce
from pipeline.bench.sample import SampleTraffic
from pipeline.clickhouse import connect
from pipeline.errors import LogweirError
from pipeline.stack import Broker, ClickHouseServer
from tests.support.stack import WorkerProcess, isolated, merged, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OUTAGE_SECONDS = 30


def test_worker_waits_out_a_clickhouse_outage(stack, pipeline_settings, worker):
    traffic = SampleTraffic(seed=5)
    produced: list[Produced] = []
    stop = threading.Event()

    def keep_producing() -> None:
        while not stop.is_set():
            produced.append(asyncio.run(produce(pipeline_settings, traffic.lines(500))))
            time.sleep(0.2)

    producer = threading.Thread(target=keep_producing)
    producer.start()
    server = ClickHouseServer(stack)
    try:
        wait_for(lambda: len(produced) >= 4, 60, "traffic before the outage", worker)
        # The worker is up and storing before the outage begins (on a loaded host start-up
        # can take longer than the traffic above).
        first = produced[0]
        wait_for(lambda: _messages_stored(pipeline_settings, first) > 0, 90, "rows stored", worker)
        assert server.stop()
        time.sleep(OUTAGE_SECONDS)  # the worker keeps consuming nothing meanwhile; retries
        assert worker.alive()
        server.start()
    finally:
        stop.set()
        producer.join()
        if not server.running():
            server.start()

    everything = merged(pipeline_settings.topic_raw, produced)
    total = everything.count

    wait_for(
        lambda: _messages_stored(pipeline_settings, everything) >= total,
        120,
        f"all {total} messages after the outage",
        worker,
    )
    final = account(connect(pipeline_settings), everything)
    assert (final.messages, final.duplicates) == (total, 0)
    assert final.stored + final.dead_lettered == total
    assert "retrying" in worker.log_path.read_text()


def test_a_worker_started_before_clickhouse_waits_for_it(stack, tmp_path):
    """ClickHouse not running when the worker starts: the worker waits (degraded, one log line
    per retry, no flood), then migrates and stores everything that waited in Kafka."""
    port = stack.clickhouse_port + 2
    settings = isolated(
        stack,
        clickhouse_url=f"http://127.0.0.1:{port}",
        clickhouse_tcp_port=stack.clickhouse_tcp_port + 2,
        state_dir=tmp_path,
        metrics_port=port + 1,
    )
    Broker(settings).create_topics(settings.topics, settings.topic_partitions)
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    server = ClickHouseServer(settings)
    worker.start()
    try:
        produced = asyncio.run(produce(settings, SampleTraffic(seed=9).lines(2000)))
        health_url = f"http://127.0.0.1:{settings.metrics_port}/health"
        wait_for(
            lambda: "ClickHouse is not answering" in _health(health_url).get("reasons", []),
            60,
            "/health to say ClickHouse is not answering",
            worker,
        )
        time.sleep(OUTAGE_SECONDS / 2)
        assert worker.alive()
        server.start()
        wait_for(
            lambda: _messages_stored(settings, produced) >= produced.count,
            120,
            "every message once ClickHouse is up",
            worker,
        )
        final = account(connect(settings), produced)
        assert (final.messages, final.duplicates) == (produced.count, 0)
        wait_for(lambda: _health(health_url).get("status") == "ok", 30, "/health ok", worker)
    finally:
        worker.stop()
        server.stop()
    log = worker.log_path.read_text()
    waiting = [line for line in log.splitlines() if "is not answering" in line]
    # One line per 5 s retry (start-up) and per backoff step (the sink), not per request.
    assert 1 <= len(waiting) <= 3 * OUTAGE_SECONDS / 5 + 10, "\n".join(waiting[:20])
    assert "Unexpected Http Driver Exception" not in log


def _health(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:  # 503 carries the same document
        return json.loads(error.read())
    except OSError:
        return {}


def _messages_stored(settings, produced: Produced) -> int:  # type: ignore[no-untyped-def]
    try:
        return account(connect(settings), produced).messages
    except (LogweirError, ClickHouseError):  # the server may still be starting
        return 0
