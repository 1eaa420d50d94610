"""ClickHouse stopped under load, then started again: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from clickhouse_connect.driver.exceptions import ClickHouseError

from pipeline.accounting import account
from pipeline.clickhouse import connect
from pipeline.errors import LogweirError
from pipeline.producer import Produced, produce
from pipeline.sample import SampleTraffic
from pipeline.stack import ClickHouseServer
from tests.support.stack import merged, wait_for

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


def _messages_stored(settings, produced: Produced) -> int:  # type: ignore[no-untyped-def]
    try:
        return account(connect(settings), produced).messages
    except (LogweirError, ClickHouseError):  # the server may still be starting
        return 0
