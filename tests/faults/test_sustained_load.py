"""Minutes of steady traffic with the worker's RSS sampled: memory must level off, not climb."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from pathlib import Path

import pytest

from pipeline.bench.accounting import account
from pipeline.bench.producer import Produced, produce
from pipeline.bench.sample import SampleTraffic
from tests.support.stack import merged, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECONDS = 150
RATE = 3000  # events/s: steady, well under the worker's capacity on this machine


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_memory_levels_off_under_sustained_load(pipeline_settings, clickhouse, worker):
    traffic = SampleTraffic(seed=21)
    produced: list[Produced] = []
    samples: list[float] = []
    stop = threading.Event()

    def keep_producing() -> None:
        while not stop.is_set():
            started = time.monotonic()
            produced.append(asyncio.run(produce(pipeline_settings, traffic.lines(RATE))))
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))

    producer = threading.Thread(target=keep_producing)
    producer.start()
    try:
        end = time.monotonic() + SECONDS
        while time.monotonic() < end:
            assert worker.alive(), worker.log_tail()
            samples.append(rss_mb(worker.proc.pid))  # type: ignore[union-attr]
            time.sleep(1)
    finally:
        stop.set()
        producer.join()

    everything = merged(pipeline_settings.topic_raw, produced)
    total = everything.count
    wait_for(
        lambda: account(clickhouse, everything).messages >= total, 120, "every message", worker
    )
    assert account(clickhouse, everything).duplicates == 0

    # After warm-up, the last third of the run may not sit clearly above the middle third.
    third = len(samples) // 3
    middle = statistics.median(samples[third : 2 * third])
    last = statistics.median(samples[2 * third :])
    assert last <= middle * 1.10, f"RSS kept growing: {middle:.0f} → {last:.0f} MiB {samples}"
